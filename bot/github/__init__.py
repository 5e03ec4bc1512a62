"""GitHub: the REST client the bot uses (pull requests, commit statuses)."""
