"""Ends the StartLabelingJob wait of the job workflow when a labeling job ends."""
