"""The Label Studio webhook function: :mod:`labelstudio_backend.webhook`."""

from labelstudio_backend.webhook import lambda_handler

__all__ = ["lambda_handler"]
