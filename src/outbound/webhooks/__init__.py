"""Webhooks for CRMs: subscriptions, the outbox of events, and their delivery."""
