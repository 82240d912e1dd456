"""The pre-annotation Lambda: turns one manifest line into the worker template's ``task.input``."""
