"""What follows a booking's move along its lifecycle, whoever moved it (docs/adr/0017)."""
