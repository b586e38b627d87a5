"""outbound: an outbound campaign manager for contact centres."""

__version__ = "0.1.0"
