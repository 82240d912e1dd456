"""Manifest validation benchmark: speed and peak memory of the Validate step's pure core."""
