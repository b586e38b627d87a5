"""Agent screen-pop: the contact, its campaign and script behind a connected call."""
