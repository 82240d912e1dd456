"""Running LabelFlow's AWS pieces on a laptop: Lambda handlers in-process, offline."""
