"""A typed Label Studio API client on the standard library, shared by the Lambda functions
of the Label Studio backend and by LabelFlow's local tools."""

from label_studio_api.client import DEFAULT_WEBHOOK_ACTIONS, LabelStudioClient
from label_studio_api.errors import LabelStudioError, LabelStudioUnavailable
from label_studio_api.models import Annotation, JsonObject, Project, Task, User, Webhook

__all__ = [
    "DEFAULT_WEBHOOK_ACTIONS",
    "Annotation",
    "JsonObject",
    "LabelStudioClient",
    "LabelStudioError",
    "LabelStudioUnavailable",
    "Project",
    "Task",
    "User",
    "Webhook",
]
