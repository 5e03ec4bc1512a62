"""Freezing master: no merges or deploys while a risky change is in flight, enforced on GitHub."""
