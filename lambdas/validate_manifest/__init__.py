"""The Validate and Plan steps of the job workflow: a manifest in; clean lines and chunks out."""
