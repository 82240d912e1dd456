"""LabelFlow constructs: each builds one group of resources."""
