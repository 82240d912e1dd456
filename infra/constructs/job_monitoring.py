"""JobMonitoring: the job workflow's reconciliation sweep, dead-letter queue and alarms.

Creates:
- `sweep`: the reconciliation sweep (`reconcile_jobs`), which resumes waiting StartLabelingJob
  steps whose labeling job ended without its state-change event reaching the job-events
  function, and fails the steps of jobs SageMaker does not know. Its role may scan the tokens
  table and delete its items (and decrypt them with the table's key), describe the labeling
  jobs matching `labeling_job_arns`, and send task success or failure to `state_machine`;
  nothing else. A failed run is not retried: the next scheduled run is the retry;
- `schedule`: the EventBridge rule that runs the sweep every 30 minutes;
- `dead_letter_queue`: an SQS queue (encrypted with `key`, TLS only, 14-day retention) for
  events EventBridge cannot deliver: the schedule's, and those of the workflow's rules when the
  caller passes it as `dead_letter_queue=` to their `targets.LambdaFunction`;
- `alarms`: CloudWatch alarms that notify `topic`: executions of `state_machine` that failed,
  timed out or were aborted, errors of each function in `functions` and of the sweep, and
  messages in the dead-letter queue. Each alarm's description tells the operator what to do.

For EventBridge to put events into the queue and CloudWatch to publish to an encrypted topic,
the key policies of `key` and of `topic`'s key let `events.amazonaws.com` and
`cloudwatch.amazonaws.com` (alarms of this account only) generate data keys and decrypt. An
imported key's policy cannot be changed here; its owner must allow the same.

Left to the caller: the topic and its subscriptions, routing the workflow's rules (and any
asynchronously invoked function) to `dead_letter_queue`, and everything else the watched
functions and the state machine need.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from aws_cdk import Acknowledgment, Aws, Duration, Stack, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.runtime_function import FunctionPlatform, RuntimeFunction

__all__ = ["RECONCILE_HANDLER", "SWEEP_NAME", "SWEEP_RATE", "JobMonitoring"]

RECONCILE_HANDLER = "reconcile_jobs.handler.lambda_handler"
#: The sweep's own entry among the watched functions (its Errors alarm).
SWEEP_NAME = "ReconcileJobs"
SWEEP_RATE = Duration.minutes(30)
_PERIOD = Duration.minutes(5)
_DLQ_RETENTION = Duration.days(14)
_NAME = re.compile(r"^[A-Z][A-Za-z0-9]{0,63}$")


class JobMonitoring(Construct):
    """The job workflow's reconciliation sweep, dead-letter queue and alarms.

    Attributes:
        sweep: The reconciliation sweep function.
        schedule: The EventBridge rule that runs the sweep.
        dead_letter_queue: The queue of events EventBridge could not deliver.
        alarms: The alarms, by construct id.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        platform: FunctionPlatform,
        key: kms.IKey,
        topic: sns.ITopic,
        state_machine: sfn.IStateMachine,
        tokens: dynamodb.ITable,
        functions: Mapping[str, lambda_.IFunction],
        labeling_job_arns: Sequence[str],
    ) -> None:
        for name in functions:
            if not _NAME.fullmatch(name):
                raise ValueError(
                    f"function name {name!r} must be PascalCase letters and digits "
                    "(it names the function's alarm)"
                )
        if SWEEP_NAME in functions:
            raise ValueError(f"function name {SWEEP_NAME!r} is the sweep's own")
        if not labeling_job_arns:
            raise ValueError("labeling_job_arns must name the labeling jobs the sweep describes")
        for arn in labeling_job_arns:
            if ":labeling-job/" not in arn:
                raise ValueError(f"{arn!r} is not a labeling-job ARN pattern")
        super().__init__(scope, id_)

        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=_DLQ_RETENTION,
        )
        Validations.of(self.dead_letter_queue).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SQS3",
                reason=(
                    "This queue is itself the dead-letter queue of EventBridge targets; its "
                    "messages are read by an operator, not redriven to another queue."
                ),
            )
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowEventBridgeDeadLetters",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                # AWS documents no source-account or source-ARN condition for EventBridge's
                # requests to KMS; the queue's own policy admits only this stack's rules.
                resources=["*"],
            )
        )

        self.sweep = self._sweep(platform, state_machine, tokens, labeling_job_arns)
        self.schedule = events.Rule(
            self,
            "Schedule",
            description="Runs the LabelFlow reconciliation sweep of waiting labeling jobs",
            schedule=events.Schedule.rate(SWEEP_RATE),
            targets=[
                targets.LambdaFunction(
                    self.sweep.function,
                    dead_letter_queue=self.dead_letter_queue,
                    retry_attempts=2,
                    max_event_age=SWEEP_RATE,
                )
            ],
        )

        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self._workflow_alarms(state_machine)
        watched = {**functions, SWEEP_NAME: self.sweep.function}
        for name, function in watched.items():
            self._alarm(
                f"{name}Errors",
                function.metric_errors(period=_PERIOD, statistic="Sum"),
                f"The {name} function of LabelFlow's job workflow raised errors. Read its log "
                "group (level ERROR) for the labeling job or manifest and the reason. "
                "Asynchronous events are retried by Lambda and EventBridge, and the "
                "reconciliation sweep resumes waiting steps every 30 minutes; fix the cause "
                "(permissions, configuration, input) so that the next attempt succeeds.",
            )
        self._alarm(
            "DeadLetterQueue",
            self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=_PERIOD, statistic="Maximum"
            ),
            "Events EventBridge could not deliver to a LabelFlow function wait in the "
            "dead-letter queue. Read a message: its attributes name the rule, the target and "
            "the error. Fix the cause (usually the target's permissions or existence), then "
            "send the events again and delete them; messages are kept for 14 days.",
        )
        topic_key = topic.master_key
        if topic_key is not None:
            topic_key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="AllowCloudWatchAlarmsOfThisAccount",
                    principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                    actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                    resources=["*"],
                    conditions={
                        "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                        "ArnLike": {
                            "aws:SourceArn": (
                                f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:"
                                f"{Aws.ACCOUNT_ID}:alarm:*"
                            )
                        },
                    },
                )
            )
        action = cloudwatch_actions.SnsAction(topic)
        for alarm in self.alarms.values():
            alarm.add_alarm_action(action)

    def _sweep(
        self,
        platform: FunctionPlatform,
        state_machine: sfn.IStateMachine,
        tokens: dynamodb.ITable,
        labeling_job_arns: Sequence[str],
    ) -> RuntimeFunction:
        sweep = RuntimeFunction(
            self,
            SWEEP_NAME,
            platform=platform,
            handler=RECONCILE_HANDLER,
            environment={"TOKENS_TABLE": tokens.table_name},
            timeout=Duration.minutes(5),
            memory_size=256,
        )
        function = sweep.function
        # The next scheduled run retries a failed one; Lambda's own retries would only
        # describe the same jobs again minutes later.
        function.configure_async_invoke(retry_attempts=0, max_event_age=SWEEP_RATE)
        tokens.grant(function, "dynamodb:Scan", "dynamodb:DeleteItem")
        if tokens.encryption_key is not None:
            tokens.encryption_key.grant_decrypt(function)
        function.add_to_role_policy(
            iam.PolicyStatement(
                sid="DescribeLabelingJobs",
                actions=["sagemaker:DescribeLabelingJob"],
                resources=list(labeling_job_arns),
            )
        )
        state_machine.grant_task_response(function)
        stack = Stack.of(self)
        wildcards = [arn for arn in labeling_job_arns if "*" in arn]
        if wildcards:
            Validations.of(sweep.role).acknowledge(
                *(
                    Acknowledgment(
                        id=f"AwsSolutions-IAM5[Resource::{_nag_resource(stack, arn)}]",
                        reason=(
                            "Labeling-job names are <project>-<jobId>-<index>, chosen per "
                            "execution; the sweep may describe the jobs of configured "
                            "projects only"
                        ),
                    )
                    for arn in wildcards
                )
            )
        return sweep

    def _workflow_alarms(self, state_machine: sfn.IStateMachine) -> None:
        self._alarm(
            "ExecutionsFailed",
            state_machine.metric_failed(period=_PERIOD, statistic="Sum"),
            "A LabelFlow job workflow execution failed: a rejected manifest, a labeling job "
            "that failed, was stopped or is missing (LabelingJobMissing), or a function error. "
            "Open the execution in the Step Functions console and read its error and cause; "
            "fix the manifest, project or job, then start a new execution with the same input.",
        )
        self._alarm(
            "ExecutionsTimedOut",
            state_machine.metric_timed_out(period=_PERIOD, statistic="Sum"),
            "A LabelFlow job workflow execution timed out: a labeling job did not end in time, "
            "or nothing resumed its waiting step. Check the job in SageMaker Ground Truth "
            "(DescribeLabelingJob) and the logs of the job-events function and of the "
            "reconciliation sweep; stop the job if it still runs, then start a new execution.",
        )
        self._alarm(
            "ExecutionsAborted",
            state_machine.metric_aborted(period=_PERIOD, statistic="Sum"),
            "A LabelFlow job workflow execution was aborted (stopped by hand or by a "
            "deployment). Confirm it was intended; stop the labeling jobs it started if they "
            "still run (StopLabelingJob), since they go on costing worker time.",
        )

    def _alarm(self, id_: str, metric: cloudwatch.IMetric, description: str) -> None:
        self.alarms[f"{id_}Alarm"] = cloudwatch.Alarm(
            self,
            f"{id_}Alarm",
            metric=metric,
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )


def _nag_resource(stack: Stack, value: str) -> str:
    """How cdk-nag writes a resource in an IAM5 finding: `<AWS::Region>` for a `Ref`."""
    return _flatten(stack.resolve(value))


def _flatten(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return str(separator).join(_flatten(part) for part in parts)
        if "Ref" in value:
            return f"<{value['Ref']}>"
        if "Fn::GetAtt" in value:
            return f"<{'.'.join(value['Fn::GetAtt'])}>"
    raise ValueError(f"cannot name {value!r} as cdk-nag does")
