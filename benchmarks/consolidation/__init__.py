"""Consolidation benchmark: LabelFlow against crowd-kit on real crowd data and at scale."""
