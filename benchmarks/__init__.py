"""Reproducible benchmarks of LabelFlow (see benchmarks/README.md)."""
