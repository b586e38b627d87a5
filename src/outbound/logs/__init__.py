"""Logs: one line per event (plain text or JSON), the request id that caused it, no secrets."""
