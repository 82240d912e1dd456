"""LabelFlow tests."""
