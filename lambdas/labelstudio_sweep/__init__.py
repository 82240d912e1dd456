"""A Label Studio backend function (see labelstudio_backend)."""
