"""Running a deploy: start, land, fail, roll back, and the history of a booking."""
