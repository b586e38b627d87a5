"""dnc domain."""
