"""deploybot: a Slack bot that coordinates risky releases of a Django site on Heroku."""

__version__ = "0.1.0"
