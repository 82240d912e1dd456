"""LabelFlow stacks: composition of constructs, grants and outputs."""
