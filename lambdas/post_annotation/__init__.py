"""The annotation-consolidation Lambda: several workers' answers in, one label per object out."""
