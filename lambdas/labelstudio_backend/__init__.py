"""The Label Studio labeling backend: start, webhook, finish and sweep of Label Studio jobs."""
