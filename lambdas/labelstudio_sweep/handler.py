"""The Label Studio sweep function: :mod:`labelstudio_backend.sweep`."""

from labelstudio_backend.sweep import lambda_handler

__all__ = ["lambda_handler"]
