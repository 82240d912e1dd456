"""Resuming a waiting StartLabelingJob step with its task token.

Shared by the job-events function (on Ground Truth's state-change event) and the
reconciliation sweep (on its schedule), so that both send the same outcome with the same
token semantics: the first ``SendTaskSuccess``/``SendTaskFailure`` resumes the step, and a
token that was already used, or whose wait timed out, is *spent* (``TaskTimedOut``,
``InvalidToken``, ``TaskDoesNotExist``): nothing is resumed and nothing fails. Any other
Step Functions error propagates to the caller.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Literal

from aws_lambda_powertools import Logger

from job_events.logic import Failure, Success

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

__all__ = ["SPENT_TOKEN_ERRORS", "Sent", "send_outcome"]

logger = Logger(child=True)

#: Step Functions errors that mean the token can no longer resume anything.
SPENT_TOKEN_ERRORS = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})

Sent = Literal["success", "failure", "not-ended", "token-spent"]


def send_outcome(sfn: SFNClient, token: str, result: Success | Failure | None) -> Sent:
    """Send ``result`` with ``token``; ``None`` (the job has not ended) sends nothing.

    Raises:
        botocore.exceptions.ClientError: a Step Functions error other than a spent token.
    """
    from botocore.exceptions import ClientError  # noqa: PLC0415 - with boto3, on first use

    if result is None:
        return "not-ended"
    try:
        if isinstance(result, Success):
            sfn.send_task_success(taskToken=token, output=json.dumps(result.output))
            return "success"
        sfn.send_task_failure(taskToken=token, error=result.error, cause=result.cause)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code not in SPENT_TOKEN_ERRORS:
            raise
        logger.info("task token already used or timed out", extra={"code": code})
        return "token-spent"
    return "failure"
