"""App Home (the bot's Home tab) and the iCalendar feed of booked deploys."""
