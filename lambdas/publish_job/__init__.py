"""The Publish step of the job workflow: one job's output, exports and quality report."""
