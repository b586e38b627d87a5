"""HTTP API: app-wide dependencies, error handlers, the v1 router."""
