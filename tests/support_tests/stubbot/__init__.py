"""A stand-in for the bot CLI, so the harness can be tested without the real bot."""
