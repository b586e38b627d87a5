"""health: background parts kept alive (restart with backoff), /health and /ready."""
