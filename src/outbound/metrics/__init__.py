"""Prometheus metrics: this process's series, the database's, and /metrics."""
