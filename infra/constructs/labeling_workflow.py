"""LabelingWorkflow: the job workflow state machine, its functions, token table and event rule.

Creates:
- `validate`: the Validate step's function (`validate_manifest`, reads `RESULTS_BUCKET`);
- `start_job`: the StartLabelingJob step's function (`start_labeling_job`), which creates one
  Ground Truth labeling job per manifest chunk and stores the step's task token;
- `job_events`: the function that ends a StartLabelingJob wait when its job ends
  (`job_events`), the target of `rule`;
- `tokens`: the DynamoDB table of `jobName -> taskToken` (on demand, encrypted with the stage
  key, point-in-time recovery, items expire through the `expiresAt` attribute);
- `publish`: the Publish step's function (`publish_job`), which unions the chunks' output
  manifests and writes the job's output manifest, exports and quality report;
- `intake`: the intake trigger (`start_job`), which starts one execution per manifest dropped
  into the intake bucket, or records why it starts none;
- `jobs`: the DynamoDB table of jobs (`jobId`; on demand, encrypted with the stage key,
  point-in-time recovery), through which a repeated intake event starts nothing;
- `topic`: the SNS topic of job notifications (rejected manifests, finished jobs), encrypted
  with the stage key and reachable over TLS only;
- `state_machine`: Validate → Map over the chunks → StartLabelingJob (`.waitForTaskToken`) →
  Publish → Succeed, logging every event to `log_group` and traced with X-Ray;
- `rule`: the EventBridge rule on Ground Truth labeling-job state changes to Completed,
  Failed or Stopped;
- `intake_rule`: the EventBridge rule on `Object Created` events of the intake bucket for
  keys ending `.jsonl` or `.manifest`, whose target is `intake`.

The Map state is INLINE: a manifest is cut into few chunks, and their results stay small. A
Distributed Map (child executions, results written to S3) replaces it when workflows fan out
to many chunks. Executions are started by `intake` with
`{"bucket", "key", "versionId", "project", "jobId", "taskType"}` (the Validate event, see
`lambdas/validate_manifest/handler.py`); an operator may start one by hand with the same input.

The caller grants the functions their access to buckets, SageMaker, the labeling-job role,
the tables, the topic and the state machine, and grants the job-events function
`states:SendTaskSuccess`/`SendTaskFailure` (`state_machine.grant_task_response`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

from aws_cdk import Acknowledgment, CfnResource, Duration, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.constructs.label_studio import LabelStudio
from infra.constructs.runtime_function import FunctionPlatform, RuntimeFunction

__all__ = [
    "JOB_EVENTS_HANDLER",
    "JOB_EVENT_DETAIL_TYPE",
    "JOB_FAILURE_ERRORS",
    "JOB_START_RETRY_ERRORS",
    "LABEL_STUDIO_START_HANDLER",
    "LABEL_STUDIO_SWEEP_HANDLER",
    "LABEL_STUDIO_WEBHOOK_HANDLER",
    "MANIFEST_SUFFIXES",
    "PUBLISH_HANDLER",
    "RECORD_FAILURE_HANDLER",
    "START_JOB_HANDLER",
    "START_LABELING_JOB_HANDLER",
    "VALIDATE_HANDLER",
    "LabelingWorkflow",
]

VALIDATE_HANDLER = "validate_manifest.handler.lambda_handler"
START_LABELING_JOB_HANDLER = "start_labeling_job.handler.lambda_handler"
JOB_EVENTS_HANDLER = "job_events.handler.lambda_handler"
START_JOB_HANDLER = "start_job.handler.lambda_handler"
PUBLISH_HANDLER = "publish_job.handler.lambda_handler"
RECORD_FAILURE_HANDLER = "record_failure.handler.lambda_handler"
LABEL_STUDIO_START_HANDLER = "labelstudio_start.handler.lambda_handler"
LABEL_STUDIO_WEBHOOK_HANDLER = "labelstudio_webhook.handler.lambda_handler"
LABEL_STUDIO_SWEEP_HANDLER = "labelstudio_sweep.handler.lambda_handler"
MANIFEST_SUFFIXES = (".jsonl", ".manifest")
JOB_EVENT_DETAIL_TYPE = "SageMaker Ground Truth Labeling Job State Change"
JOB_FAILURE_ERRORS = ("LabelingJobFailed", "LabelingJobStopped")
#: Errors of the StartLabelingJob function worth retrying with back-off: the function raises
#: SageMaker and DynamoDB throttling as `Throttled` (start_labeling_job.handler).
JOB_START_RETRY_ERRORS = ("Throttled",)

# Errors of the Lambda service itself (not of the function's code), worth retrying.
_LAMBDA_TRANSIENT = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
_CHUNK_CONCURRENCY = 10


def _retry_lambda_service(task: tasks.LambdaInvoke) -> None:
    """Retry the Lambda service's own errors (not the function's) with back-off."""
    task.add_retry(
        errors=_LAMBDA_TRANSIENT,
        interval=Duration.seconds(2),
        max_attempts=6,
        backoff_rate=2,
    )


class LabelingWorkflow(Construct):
    """The job workflow of one stage.

    Attributes:
        validate: The Validate step's function.
        start_job: The StartLabelingJob step's function.
        job_events: The function that reports a job's end to the waiting step.
        publish: The Publish step's function.
        intake: The intake trigger.
        tokens: The task-token table.
        jobs: The jobs table.
        topic: The notification topic.
        log_group: The state machine's log group.
        state_machine: The job workflow.
        rule: The EventBridge rule on labeling-job state changes.
        intake_rule: The EventBridge rule on manifests dropped into the intake bucket.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        platform: FunctionPlatform,
        projects_setting: str,
        key: kms.IKey,
        intake_bucket: s3.IBucket,
        results_bucket: s3.IBucket,
        artifacts_bucket: s3.IBucket,
        audit_bucket: s3.IBucket,
        labeling_job_role: iam.IRole,
        pre_annotation: lambda_.IFunction,
        consolidation: lambda_.IFunction,
        max_objects_per_job: int,
        task_availability: Duration,
        notify_emails: Mapping[str, Sequence[str]],
        label_studio: LabelStudio | None = None,
    ) -> None:
        if not projects_setting.startswith("{"):
            raise ValueError("projects_setting must be the JSON object of project settings")
        super().__init__(scope, id_)
        # Tasks stay offered for the projects' longest availability; a job is given one more
        # day to be consolidated and reported before its wait times out.
        self._job_wait = task_availability.plus(Duration.days(1))

        self.tokens = dynamodb.Table(
            self,
            "Tokens",
            partition_key=dynamodb.Attribute(name="jobName", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute="expiresAt",
            removal_policy=platform.removal_policy,
        )
        self.jobs = dynamodb.Table(
            self,
            "Jobs",
            partition_key=dynamodb.Attribute(name="jobId", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=platform.removal_policy,
        )
        self.topic = sns.Topic(
            self,
            "Notifications",
            master_key=key,
            enforce_ssl=True,
        )
        for project, emails in sorted(notify_emails.items()):
            for email in emails:
                # Each address hears about its own project's jobs only.
                self.topic.add_subscription(
                    subscriptions.EmailSubscription(
                        email,
                        filter_policy={
                            "project": sns.SubscriptionFilter.string_filter(allowlist=[project])
                        },
                    )
                )
        self.validate = RuntimeFunction(
            self,
            "Validate",
            platform=platform,
            handler=VALIDATE_HANDLER,
            environment={
                "RESULTS_BUCKET": results_bucket.bucket_name,
                "MAX_OBJECTS_PER_JOB": str(max_objects_per_job),
            },
            timeout=Duration.minutes(15),
            memory_size=1769,
        )
        self.start_job = RuntimeFunction(
            self,
            "StartLabelingJob",
            platform=platform,
            handler=START_LABELING_JOB_HANDLER,
            environment={
                "LABELFLOW_PROJECTS": projects_setting,
                "RESULTS_BUCKET": results_bucket.bucket_name,
                "ARTIFACTS_BUCKET": artifacts_bucket.bucket_name,
                "LABELING_JOB_ROLE_ARN": labeling_job_role.role_arn,
                "KMS_KEY_ARN": key.key_arn,
                "PRE_ANNOTATION_ARN": pre_annotation.function_arn,
                "CONSOLIDATION_ARN": consolidation.function_arn,
                "TOKENS_TABLE": self.tokens.table_name,
            },
            timeout=Duration.seconds(60),
            memory_size=256,
        )
        self.job_events = RuntimeFunction(
            self,
            "JobEvents",
            platform=platform,
            handler=JOB_EVENTS_HANDLER,
            environment={"TOKENS_TABLE": self.tokens.table_name},
            timeout=Duration.seconds(60),
            memory_size=256,
        )

        self.publish = RuntimeFunction(
            self,
            "PublishJob",
            platform=platform,
            handler=PUBLISH_HANDLER,
            environment={
                "RESULTS_BUCKET": results_bucket.bucket_name,
                "ARTIFACTS_BUCKET": artifacts_bucket.bucket_name,
                "AUDIT_BUCKET": audit_bucket.bucket_name,
                "JOBS_TABLE": self.jobs.table_name,
                "TOPIC_ARN": self.topic.topic_arn,
            },
            timeout=Duration.minutes(15),
            memory_size=1769,
        )

        self.record_failure = RuntimeFunction(
            self,
            "RecordFailure",
            platform=platform,
            handler=RECORD_FAILURE_HANDLER,
            environment={
                "JOBS_TABLE": self.jobs.table_name,
                "TOPIC_ARN": self.topic.topic_arn,
                "RESULTS_BUCKET": results_bucket.bucket_name,
            },
            timeout=Duration.seconds(60),
            memory_size=256,
        )

        self.label_studio: LabelStudioFunctions | None = None
        if label_studio is not None:
            self.label_studio = LabelStudioFunctions(
                self,
                "LabelStudio",
                platform=platform,
                server=label_studio,
                environment={
                    "LABELFLOW_PROJECTS": projects_setting,
                    "RESULTS_BUCKET": results_bucket.bucket_name,
                    "ARTIFACTS_BUCKET": artifacts_bucket.bucket_name,
                    "TOKENS_TABLE": self.tokens.table_name,
                },
            )

        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            retention=platform.log_retention,
            encryption_key=platform.log_key,
            removal_policy=platform.removal_policy,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(self._definition()),
            logs=sfn.LogOptions(
                destination=self.log_group,
                level=sfn.LogLevel.ALL,
                # Execution data holds manifest locations and job output only, yet stays out
                # of the logs so that logs never carry submitter-provided content.
                include_execution_data=False,
            ),
            tracing_enabled=True,
        )
        Validations.of(self.state_machine.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason=(
                    "Step Functions log delivery (logs:CreateLogDelivery and related actions) "
                    "and X-Ray trace writes support no resource-level permissions, so AWS "
                    "requires Resource '*'."
                ),
            )
        )

        # The Distributed Map's policy (added by CDK) lets the workflow run and stop its own
        # child executions; execution ARNs carry run-time names, so only a wildcard names them.
        map_policy = self.state_machine.node.find_child("DistributedMapPolicy")
        machine = Stack.of(self).resolve(
            cast(CfnResource, self.state_machine.node.default_child).logical_id
        )
        executions = (
            "Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
            f'{{"Fn::Select":[6,{{"Fn::Split":[":",{{"Ref":"{machine}"}}]}}]}}'
        )
        for suffix in (":*", "/*:*"):
            Validations.of(map_policy).acknowledge(
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[{executions}{suffix}]",
                    reason=(
                        "The Distributed Map runs one child execution per chunk; execution "
                        "ARNs end in run-time names, so the statement names this state "
                        "machine's own executions by wildcard and nothing else."
                    ),
                )
            )

        self.rule = events.Rule(
            self,
            "JobEventsRule",
            description="Ground Truth labeling jobs that ended, for the job workflow",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=[JOB_EVENT_DETAIL_TYPE],
                detail={"LabelingJobStatus": ["Completed", "Failed", "Stopped"]},
            ),
        )

        self.intake = RuntimeFunction(
            self,
            "StartJob",
            platform=platform,
            handler=START_JOB_HANDLER,
            environment={
                "LABELFLOW_PROJECTS": projects_setting,
                "RESULTS_BUCKET": results_bucket.bucket_name,
                "JOBS_TABLE": self.jobs.table_name,
                "TOPIC_ARN": self.topic.topic_arn,
                "STATE_MACHINE_ARN": self.state_machine.state_machine_arn,
            },
            timeout=Duration.seconds(60),
            memory_size=256,
        )
        self.intake_rule = events.Rule(
            self,
            "IntakeRule",
            description="Manifests dropped into the intake bucket, for the job workflow",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [intake_bucket.bucket_name]},
                    "object": {"key": [{"suffix": suffix} for suffix in MANIFEST_SUFFIXES]},
                },
            ),
        )

    def _definition(self) -> sfn.IChainable:
        failed = sfn.Fail(
            self,
            "Job failed",
            error_path="$.record.error",
            cause_path="$.record.reason",
        )

        def record(name: str, *, chunks: bool) -> sfn.Chain:
            """A step that records why the job ended and sends it to the Fail state."""
            payload: dict[str, object] = {
                "jobId": sfn.JsonPath.string_at("$.jobId"),
                "project": sfn.JsonPath.string_at("$.project"),
                "error": sfn.JsonPath.string_at("$.failure.Error"),
                "cause": sfn.JsonPath.string_at("$.failure.Cause"),
            }
            if chunks:
                payload["chunks"] = sfn.JsonPath.list_at("$.validation.chunks")
            step = tasks.LambdaInvoke(
                self,
                name,
                lambda_function=self.record_failure.function.latest_version,
                payload=sfn.TaskInput.from_object(payload),
                payload_response_only=True,
                result_path="$.record",
            )
            _retry_lambda_service(step)
            return step.next(failed)

        validate = tasks.LambdaInvoke(
            self,
            "Validate manifest",
            lambda_function=self.validate.function.latest_version,
            payload_response_only=True,
            result_path="$.validation",
            task_timeout=sfn.Timeout.duration(Duration.minutes(16)),
        )
        _retry_lambda_service(validate)
        validate.add_catch(
            record("Record rejection", chunks=False), errors=["States.ALL"], result_path="$.failure"
        )

        # A callback task cannot use payload_response_only (CDK rejects it with any
        # integration pattern): its output is what job_events sends with the token.
        start = tasks.LambdaInvoke(
            self,
            "Start labeling job",
            lambda_function=self.start_job.function.latest_version,
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            payload=sfn.TaskInput.from_object(
                {
                    "taskToken": sfn.JsonPath.task_token,
                    "jobId": sfn.JsonPath.string_at("$.jobId"),
                    "project": sfn.JsonPath.string_at("$.project"),
                    "chunk": sfn.JsonPath.object_at("$.chunk"),
                }
            ),
            # No heartbeat: Ground Truth reports a job's end only, so nothing could send one.
            task_timeout=sfn.Timeout.duration(self._job_wait),
        )
        # Creating labeling jobs is throttled per account: retried with growing, jittered waits.
        _retry_lambda_service(start)
        start.add_retry(
            errors=list(JOB_START_RETRY_ERRORS),
            interval=Duration.seconds(5),
            max_attempts=8,
            backoff_rate=2,
            max_delay=Duration.minutes(5),
            jitter_strategy=sfn.JitterType.FULL,
        )

        chunks = sfn.DistributedMap(
            self,
            "Label chunks",
            items_path="$.validation.chunks",
            # Each chunk's labeling job waits on a task token, which needs STANDARD children.
            map_execution_type=sfn.StateMachineType.STANDARD,
            item_selector={
                "jobId": sfn.JsonPath.string_at("$.jobId"),
                "project": sfn.JsonPath.string_at("$.project"),
                "backend": sfn.JsonPath.string_at("$.backend"),
                "chunk": sfn.JsonPath.object_at("$$.Map.Item.Value"),
            },
            max_concurrency=_CHUNK_CONCURRENCY,
            result_path="$.jobs",
        )
        chunks.item_processor(self._backend_choice(start))
        chunks.add_catch(
            record("Record failure", chunks=True), errors=["States.ALL"], result_path="$.failure"
        )

        publish = tasks.LambdaInvoke(
            self,
            "Publish results",
            lambda_function=self.publish.function.latest_version,
            payload=sfn.TaskInput.from_object(
                {
                    "jobId": sfn.JsonPath.string_at("$.jobId"),
                    "project": sfn.JsonPath.string_at("$.project"),
                    "taskType": sfn.JsonPath.string_at("$.taskType"),
                    "workforce": sfn.JsonPath.object_at("$.workforce"),
                    "jobs": sfn.JsonPath.list_at("$.jobs"),
                }
            ),
            payload_response_only=True,
            result_path="$.publication",
            task_timeout=sfn.Timeout.duration(Duration.minutes(16)),
        )
        _retry_lambda_service(publish)
        publish.add_catch(
            record("Record publish failure", chunks=False),
            errors=["States.ALL"],
            result_path="$.failure",
        )
        # Executions started by hand may leave out optional fields; give them their defaults.
        defaults = sfn.Pass(
            self,
            "Apply defaults",
            parameters={
                "input.$": (
                    "States.JsonMerge(States.StringToJson("
                    '\'{"workforce":null,"backend":"ground-truth"}\'), $, false)'
                )
            },
            output_path="$.input",
        )
        return defaults.next(validate).next(chunks).next(publish).next(sfn.Succeed(self, "Labeled"))

    def _backend_choice(self, ground_truth: tasks.LambdaInvoke) -> sfn.IChainable:
        """The chunk's first step: its labeling job on Ground Truth or on Label Studio."""
        if self.label_studio is None:
            return ground_truth
        # Same event, same wait and the same output as the Ground Truth step.
        studio = tasks.LambdaInvoke(
            self,
            "Start Label Studio job",
            lambda_function=self.label_studio.start.function.latest_version,
            integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
            payload=sfn.TaskInput.from_object(
                {
                    "taskToken": sfn.JsonPath.task_token,
                    "jobId": sfn.JsonPath.string_at("$.jobId"),
                    "project": sfn.JsonPath.string_at("$.project"),
                    "chunk": sfn.JsonPath.object_at("$.chunk"),
                }
            ),
            task_timeout=sfn.Timeout.duration(self._job_wait),
        )
        _retry_lambda_service(studio)
        studio.add_retry(
            errors=["LabelStudioUnavailable"],
            interval=Duration.seconds(10),
            max_attempts=6,
            backoff_rate=2,
            max_delay=Duration.minutes(5),
            jitter_strategy=sfn.JitterType.FULL,
        )
        return (
            sfn.Choice(self, "Which backend?")
            .when(sfn.Condition.string_equals("$.backend", "labelstudio"), studio)
            .otherwise(ground_truth)
        )


class LabelStudioFunctions(Construct):
    """The Label Studio backend's functions (`lambdas/labelstudio_backend`).

    Attributes:
        start: Creates a chunk's Label Studio project and waits on its task token.
        webhook: Receives Label Studio's webhooks at `url` (a function URL; the shared
            secret in its header authenticates each call) and finishes complete jobs.
        sweep: Every 15 minutes, finishes jobs whose webhook was lost or whose deadline
            passed.
        url: The webhook function's URL.
        schedule: The sweep's schedule.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        platform: FunctionPlatform,
        server: LabelStudio,
        environment: Mapping[str, str],
    ) -> None:
        super().__init__(scope, id_)
        common = {
            **environment,
            "LABEL_STUDIO_URL": server.url,
            "LABEL_STUDIO_TOKEN_SECRET_ARN": server.token_secret.secret_arn,
            "WEBHOOK_SECRET_ARN": server.webhook_secret.secret_arn,
        }
        self.webhook = RuntimeFunction(
            self,
            "Webhook",
            platform=platform,
            handler=LABEL_STUDIO_WEBHOOK_HANDLER,
            environment=common,
            timeout=Duration.minutes(5),
            memory_size=1769,
        )
        function_url = self.webhook.function.add_function_url(
            auth_type=lambda_.FunctionUrlAuthType.NONE
        )
        self.url = function_url.url
        self.start = RuntimeFunction(
            self,
            "Start",
            platform=platform,
            handler=LABEL_STUDIO_START_HANDLER,
            environment={**common, "WEBHOOK_URL": self.url},
            timeout=Duration.minutes(5),
            memory_size=512,
        )
        self.sweep = RuntimeFunction(
            self,
            "Sweep",
            platform=platform,
            handler=LABEL_STUDIO_SWEEP_HANDLER,
            environment=common,
            timeout=Duration.minutes(15),
            memory_size=1769,
        )
        self.schedule = events.Rule(
            self,
            "SweepSchedule",
            description="Finishes Label Studio jobs whose webhook was lost or deadline passed",
            schedule=events.Schedule.rate(Duration.minutes(15)),
            targets=[targets.LambdaFunction(self.sweep.function, retry_attempts=0)],
        )
        for function in (self.start, self.webhook, self.sweep):
            server.token_secret.grant_read(function.function)
            server.webhook_secret.grant_read(function.function)
