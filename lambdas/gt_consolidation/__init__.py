"""Ground Truth's annotation-consolidation request, answered: the library behind the
consolidation Lambda, and the one entry point the Label Studio backend finishes its jobs with.

* :mod:`gt_consolidation.batch`: one batch consolidated (pure): label values, masks, skill;
* :mod:`gt_consolidation.task_types`: the per-task-type table and its runners and shapers;
* :func:`consolidate_request` (:mod:`gt_consolidation.service`): the request read, the batch
  consolidated and its masks and skill written, exactly as the Lambda does it;
* :func:`check_workers`: a running job's answers so far judged for worker alerts
  (:mod:`gt_consolidation.alerts`).

Importing the package is cheap: the consolidation library (numpy) and boto3 are imported
when a batch is consolidated.
"""

from gt_consolidation.service import check_workers, consolidate_request

__all__ = ["check_workers", "consolidate_request"]
