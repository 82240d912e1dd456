"""Resumes workflow steps whose labeling job ended while its state-change event went missing."""
