"""Reports: live counts per state and outcome, timelines, and why a campaign is idle."""
