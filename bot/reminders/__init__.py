"""Timed messages about bookings, sent by the clock: reminders, unapproved warnings, expiry."""
