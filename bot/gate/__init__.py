"""The `deploybot/deploy` commit status: every pull request's migrations judged, and a
tricky one held until its deploy is booked, approved and started
(docs/adr/0015-deploy-gate.md)."""
