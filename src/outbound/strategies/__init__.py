"""strategies domain."""
