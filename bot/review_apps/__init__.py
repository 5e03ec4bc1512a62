"""Review-app notifications: one Slack message per Heroku review app (ADR 0009)."""
