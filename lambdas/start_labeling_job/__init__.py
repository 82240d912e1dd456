"""The StartLabelingJob step of the job workflow: one Ground Truth labeling job per chunk."""
