"""The Label Studio backend's settings, shared by its three functions."""

from labelstudio_backend.settings import Settings, SettingsError, get_settings

__all__ = ["Settings", "SettingsError", "get_settings"]
