"""Tests of the test harness itself (they need neither the bot nor a database)."""
