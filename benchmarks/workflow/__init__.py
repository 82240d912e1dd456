"""Job workflow benchmark: a 1,000-item manifest from intake upload to the output manifest."""
