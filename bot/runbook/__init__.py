"""The Elasticsearch mapping-change runbook: a checklist walked in order during the deploy."""
