"""Test-harness helpers: fake Slack, signed Slack requests, bot process, databases."""
