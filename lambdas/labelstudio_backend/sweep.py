"""Sweep of waiting Label Studio jobs (scheduled): parse → fetch → decide → shape.

Webhook calls can be lost (Label Studio does not retry them) and a deadline passes without
any call, so on a schedule this function scans the tokens table for Label Studio jobs
(``backend = "label-studio"``) and runs :func:`labelstudio_backend.finish.try_finish` on
each: a complete job, or one past its deadline, is finished; others wait. A waiting job whose
project has a ``worker_alert`` has its workers judged on their answers so far
(:func:`labelstudio_backend.watch.watch_job`), so a bad worker is flagged mid-job.

Returns and logs ``{"checked", "finished", "waiting", "alreadyFinishing", "tokenSpent",
"flagged", "errors", "stoppedEarly"}``. A job that cannot be finished or checked (Label
Studio down, a malformed item, an AWS error) is logged with its name and counted, and the
sweep goes on; the token stays, so the next sweep tries again. When the sweep is done,
:class:`SweepError` is raised if any job failed, so the function's Errors alarm reports it.
The sweep stops early, and says so, when less than :data:`TIME_RESERVE_MS` of the invocation
is left.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from gt_contracts import ContractError
from handler_support import traced
from job_contracts.tokens import LABEL_STUDIO
from label_studio_api import LabelStudioError
from labelstudio_backend import aws
from labelstudio_backend.finish import FinishError, try_finish
from labelstudio_backend.logic import WaitingJob
from labelstudio_backend.settings import get_settings
from labelstudio_backend.watch import watch_job

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = ["TIME_RESERVE_MS", "SweepError", "lambda_handler"]

logger = Logger()

#: The sweep stops when less time than this is left, so that it always reports its counts.
TIME_RESERVE_MS = 60_000
_KEYS = {
    "finished": "finished",
    "waiting": "waiting",
    "already-finishing": "alreadyFinishing",
    "token-spent": "tokenSpent",
}


class SweepError(RuntimeError):
    """Some waiting jobs could not be finished (each is logged; their tokens are kept)."""


def _handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    counts: Counter[str] = Counter()
    stopped = None
    for item in aws.tokens(settings).scan(backend=LABEL_STUDIO):
        if context.get_remaining_time_in_millis() < TIME_RESERVE_MS:
            stopped = "time"
            break
        counts["checked"] += 1
        name = item.get("jobName", {}).get("S")
        try:
            job = WaitingJob.from_item(item)
            report = try_finish(settings, job, function_arn=context.invoked_function_arn)
            if report.outcome == "waiting":
                flagged = watch_job(settings, job, function_arn=context.invoked_function_arn)
                counts["flagged"] += len(flagged)
        except (ContractError, FinishError, LabelStudioError) as exc:
            logger.error("job not finished", extra={"labeling_job": name, "reason": str(exc)})
            counts["errors"] += 1
            continue
        except Exception as exc:  # an AWS error: counted, reported after the sweep
            logger.exception(
                "job not finished", extra={"labeling_job": name, "error": type(exc).__name__}
            )
            counts["errors"] += 1
            continue
        counts[_KEYS[report.outcome]] += 1
    result: dict[str, Any] = {
        key: counts[key]
        for key in (
            "checked",
            "finished",
            "waiting",
            "alreadyFinishing",
            "tokenSpent",
            "flagged",
            "errors",
        )
    }
    result["stoppedEarly"] = stopped
    logger.info("label studio sweep done", extra=result)
    if counts["errors"]:
        raise SweepError(f"{counts['errors']} of {counts['checked']} jobs failed; see the log")
    return result


lambda_handler = logger.inject_lambda_context(log_event=False)(traced(_handle))
