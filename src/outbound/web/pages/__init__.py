"""One module per page family; each exposes ``router`` (see ``outbound.web.router``)."""
