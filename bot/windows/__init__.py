"""Deploy windows: when tricky deploys may happen (allowed windows and blackouts, cron in
the window's own time zone), with audited overrides and scheduled freezes
(docs/adr/0016-deploy-windows.md)."""
