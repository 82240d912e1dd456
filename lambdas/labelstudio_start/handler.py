"""The Label Studio start function: :mod:`labelstudio_backend.start`."""

from labelstudio_backend.start import lambda_handler

__all__ = ["lambda_handler"]
