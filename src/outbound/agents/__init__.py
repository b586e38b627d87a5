"""Agents: the people who take an Agent campaign's calls, their states and history."""
