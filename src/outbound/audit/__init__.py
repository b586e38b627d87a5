"""The audit log: every change users make to the product's configuration, kept for good."""
