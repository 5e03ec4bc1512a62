"""Following the deploys that really happen: merges into the production branch and
Heroku releases of the production apps move bookings (issue 14, docs/adr/0017)."""
