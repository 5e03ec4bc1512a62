"""The Heroku Platform API, for what a release webhook does not say (its commit)."""
