"""LabelFlow infrastructure: typed configuration, stacks and constructs (AWS CDK)."""
