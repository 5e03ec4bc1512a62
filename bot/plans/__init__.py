"""Multi-PR migration plans: the 2 or 3 ordered steps the seeds prescribe."""
