"""The two ways Ground Truth input can be wrong.

* :class:`ContractError`: an event, payload file, worker-response file or configuration that
  breaks its documented shape. It names the missing or invalid field; callers let it fail the
  invocation loudly.
* :class:`AnswerError`: one worker's answer that cannot be read for the task type (content that
  is not JSON, no answer of the expected shape, a field of the wrong type). Callers turn it into
  an explicit no-consensus result for that item.
"""

from __future__ import annotations

__all__ = ["AnswerError", "ContractError"]


class ContractError(ValueError):
    """Input that breaks a documented contract; the message names the field."""


class AnswerError(ValueError):
    """A worker answer that cannot be read for the task type; the message says why."""
