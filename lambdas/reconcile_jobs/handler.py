"""Reconciliation sweep of the job workflow: parse → fetch → decide → shape.

Runs on a schedule (every 30 minutes). Ground Truth's state-change event normally resumes a
waiting StartLabelingJob step (``job_events``); this sweep resumes the steps whose event was
lost or failed. It scans the tokens table (paginated; items with a ``backend`` attribute belong
to another labeling backend and are skipped) and, for each waiting job, calls
``DescribeLabelingJob`` and acts on :func:`reconcile_jobs.logic.decide`: an ended job's step
is resumed with :func:`job_contracts.tokens.send_outcome`, exactly as the event would (same
outcome, same spent-token semantics), a job still running is left alone, and a job SageMaker
does not know fails its step with ``LabelingJobMissing`` once the grace period has passed.

After a step was resumed, or its token turned out spent, the item is deleted on condition
that it still holds the token that was sent, so a token replaced meanwhile by a retried step
stays for the next sweep. An event arriving later then finds no token and is ignored
(``job_events`` answers ``"unknown-job"``); an event arriving first leaves the token, which
the sweep finds spent and deletes. Resuming twice is therefore harmless either way.

Returns the counts of :class:`reconcile_jobs.logic.SweepReport` (``checked``, ``resumed``,
``tokenSpent``, ``inProgress``, ``awaitingJob``, ``errors``, ``stoppedEarly``), also logged.

Errors. Throttling (SageMaker, Step Functions or DynamoDB, after the clients' own backoff)
stops the sweep early without failing it: the next run continues. So does running short of
time. Any other per-item failure (a malformed item, an unexpected AWS error) is logged with
the job's name and counted, and the sweep goes on with the next item; when the sweep has
finished, :class:`SweepError` is raised if any item failed, so that the function's Errors
alarm reports it (the counts are logged first). Scanning errors propagate.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from gt_contracts import ContractError
from handler_support import client, traced
from job_contracts.tokens import TokenStore, WaitingStep, error_code, send_outcome
from reconcile_jobs.logic import (
    Resume,
    RowOutcome,
    StopReason,
    classify_error,
    decide,
    tally,
)
from reconcile_jobs.settings import get_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = ["SweepError", "lambda_handler"]

logger = Logger()


#: The sweep stops when less time than this is left, so that it always reports its counts.
TIME_RESERVE_MS = 30_000
#: Attempts per AWS call, with the SDK's exponential backoff on throttling (standard mode).
MAX_ATTEMPTS = 5


class SweepError(RuntimeError):
    """Some items could not be reconciled; they were logged, and the next run retries them."""


class _Throttled(Exception):
    """AWS kept throttling the sweep after the SDK's retries."""


def _handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    store = TokenStore(client("dynamodb", max_attempts=MAX_ATTEMPTS), get_settings().tokens_table)
    outcomes: list[RowOutcome] = []
    stopped: StopReason | None = None
    try:
        for item in _scan(store):
            if context.get_remaining_time_in_millis() < TIME_RESERVE_MS:
                stopped = "time"
                break
            outcomes.append(_reconcile(store, item))
    except _Throttled:
        stopped = "throttled"
    report = tally(outcomes, stopped_early=stopped)
    logger.info("reconciliation sweep done", extra=report.to_dict())
    if report.errors:
        raise SweepError(f"{report.errors} of {report.checked} waiting jobs failed; see the log")
    return report.to_dict()


lambda_handler = logger.inject_lambda_context(log_event=False)(traced(_handle))


def _scan(store: TokenStore) -> Iterator[Mapping[str, Any]]:
    """Ground Truth's waiting steps (Label Studio jobs have a sweep of their own)."""
    try:
        yield from store.scan(backend=None)
    except _client_error() as exc:
        if classify_error(error_code(exc)) == "throttled":
            raise _Throttled from exc
        raise


def _reconcile(store: TokenStore, item: Mapping[str, Any]) -> RowOutcome:
    """Reconcile one item; raises :class:`_Throttled` to stop the sweep."""
    name = item.get("jobName", {}).get("S")
    try:
        row = WaitingStep.from_item(item)
        described = _describe(row.job_name)
        decision = decide(row, described, now=time.time())
        if not isinstance(decision, Resume):
            return decision.reason
        states = client("stepfunctions", max_attempts=MAX_ATTEMPTS)
        sent = send_outcome(states, row.task_token, decision.result)
        if not store.forget(row):
            logger.info("a retried step stored a new token; kept", extra={"labeling_job": name})
    except ContractError as exc:
        logger.error("malformed token item", extra={"labeling_job": name, "reason": str(exc)})
        return "error"
    except _client_error() as exc:
        if classify_error(error_code(exc)) == "throttled":
            logger.warning("throttled; the next sweep continues", extra={"labeling_job": name})
            raise _Throttled from exc
        logger.exception("could not reconcile labeling job", extra={"labeling_job": name})
        return "error"
    logger.info("waiting step resumed", extra={"labeling_job": name, "sent": sent})
    return "token-spent" if sent == "token-spent" else "resumed"


def _describe(job_name: str) -> dict[str, Any] | None:
    """The job's description, or ``None`` when SageMaker does not know it."""
    try:
        sagemaker = client("sagemaker", max_attempts=MAX_ATTEMPTS)
        return dict(sagemaker.describe_labeling_job(LabelingJobName=job_name))
    except _client_error() as exc:
        if classify_error(error_code(exc)) == "missing":
            return None
        raise


def _client_error() -> type[Exception]:
    from botocore.exceptions import ClientError  # noqa: PLC0415 - with boto3, on first use

    return ClientError
