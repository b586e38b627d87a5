"""Channels: dialers and SMS gateways behind one Protocol each, chosen by name."""
