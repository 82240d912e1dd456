"""LabelingWorkflow: the job workflow state machine, its functions, tables, topic and rules.

Creates:
- `validate`: the Validate step's function (`validate_manifest`): it checks the manifest and
  the items it references (in intake or the stage's data sources, `DATA_SOURCES`), writes the
  clean manifest, rejects, counts and chunks under `jobs/<jobId>/` of results;
- `start_job`: the "Start labeling job" step's function (`start_labeling_job`), which creates
  one Ground Truth labeling job per manifest chunk and stores the step's task token;
- `job_events`: the function that ends a "Start labeling job" wait when its job ends
  (`job_events`), the target of `rule`;
- `tokens`: the DynamoDB table of `jobName -> taskToken` (on demand, encrypted with the stage
  key, point-in-time recovery, items expire through the `expiresAt` attribute);
- `publish`: the Publish step's function (`publish_job`), which unions the chunks' output
  manifests and writes the job's output manifest, exports and quality report;
- `record_failure`: the function every error that ends a job goes to (`record_failure`);
- `intake`: the intake trigger (`start_job`), which starts one execution per manifest dropped
  into the intake bucket, or records why it starts none;
- `jobs`: the DynamoDB table of jobs (`jobId`; on demand, encrypted with the stage key,
  point-in-time recovery), through which a repeated intake event starts nothing;
- `topic`: the SNS topic of job notifications (rejected manifests, finished jobs), encrypted
  with the stage key and reachable over TLS only, with each project's e-mail subscriptions;
- `label_studio`: the Label Studio backend's functions (`LabelStudioFunctions`), when the
  stage has a Label Studio server;
- `state_machine`: Apply defaults → Validate → a Distributed Map over the chunks (one STANDARD
  child execution per chunk, each waiting on a task token: "Start labeling job" on Ground
  Truth or "Start Label Studio job") → Publish → Succeed, logging every event to
  `log_group` and traced with X-Ray. Validate's result is passed on as `validation` to
  Publish and to the record-failure steps after the Map. Any error ends in a record-failure
  step and the Fail state;
- `rule`: the EventBridge rule on Ground Truth labeling-job state changes to Completed,
  Failed or Stopped;
- `intake_rule`: the EventBridge rule on `Object Created` events of the intake bucket for
  keys ending `.jsonl` or `.manifest`, whose target is `intake`.

Executions are started by `intake` with the job's input
(`{"bucket", "key", "versionId", "project", "jobId", "taskType", "workforce", "backend"}`,
`job_contracts.steps.JobInput`, also the Validate step's event); an operator may start one by
hand with the same input, leaving out `workforce` and `backend`.

The construct grants its functions what they do with the resources it owns: the tables, the
topic, the state machine (start, task responses) and the SageMaker labeling jobs of the
configured projects, and the events they put on the default bus. The caller grants the
cross-construct rest: the buckets and the key, passing the labeling-job role, and reading the
stage's data sources and the Label Studio secrets; and gives `rule` and `intake_rule` their
targets' retry and dead-letter settings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

from aws_cdk import Acknowledgment, Aws, CfnResource, Duration, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
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
from infra.constructs.label_studio_functions import LabelStudioFunctions
from infra.constructs.runtime_function import FunctionPlatform, RuntimeFunction
from infra.constructs.tables import encrypted_table

__all__ = [
    "JOB_EVENTS_HANDLER",
    "JOB_EVENT_DETAIL_TYPE",
    "JOB_FAILURE_ERRORS",
    "JOB_START_RETRY_ERRORS",
    "LABEL_STUDIO_RETRY_ERRORS",
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
MANIFEST_SUFFIXES = (".jsonl", ".manifest")
JOB_EVENT_DETAIL_TYPE = "SageMaker Ground Truth Labeling Job State Change"
JOB_FAILURE_ERRORS = ("LabelingJobFailed", "LabelingJobStopped")
#: Errors of the StartLabelingJob function worth retrying with back-off: the function raises
#: SageMaker and DynamoDB throttling as `Throttled` (start_labeling_job.handler).
JOB_START_RETRY_ERRORS = ("Throttled",)
#: Errors of the Label Studio start function worth retrying with back-off: the server cannot
#: be reached after the client's own retries (labelstudio_backend.start).
LABEL_STUDIO_RETRY_ERRORS = ("LabelStudioUnavailable",)

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
        start_job: The "Start labeling job" step's function.
        job_events: The function that reports a job's end to the waiting step.
        publish: The Publish step's function.
        record_failure: The function that records why a job ended.
        intake: The intake trigger.
        label_studio: The Label Studio backend's functions, or None without a server.
        labeling_job_arns: ARN patterns of the configured projects' labeling jobs
            (`<project>-*`), the only ones the functions may create or describe.
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
        project_names: Sequence[str],
        data_sources_setting: str,
        key: kms.IKey,
        intake_bucket: s3.IBucket,
        results_bucket: s3.IBucket,
        artifacts_bucket: s3.IBucket,
        audit_bucket: s3.IBucket,
        labeling_job_role: iam.IRole,
        pre_annotation: lambda_.IFunction,
        consolidation: lambda_.IFunction,
        skills: dynamodb.ITable,
        max_objects_per_job: int,
        task_availability: Duration,
        notify_emails: Mapping[str, Sequence[str]],
        label_studio: LabelStudio | None = None,
    ) -> None:
        if not projects_setting.startswith("{"):
            raise ValueError("projects_setting must be the JSON object of project settings")
        if not project_names:
            raise ValueError("project_names must name the stage's projects")
        if not data_sources_setting.startswith("["):
            raise ValueError("data_sources_setting must be the JSON list of data sources")
        super().__init__(scope, id_)
        self.labeling_job_arns = [
            f"arn:{Aws.PARTITION}:sagemaker:{Aws.REGION}:{Aws.ACCOUNT_ID}:labeling-job/{name}-*"
            for name in project_names
        ]
        # Tasks stay offered for the projects' longest availability; a job is given one more
        # day to be consolidated and reported before its wait times out.
        self._job_wait = task_availability.plus(Duration.days(1))

        self.tokens = encrypted_table(
            self,
            "Tokens",
            partition_key="jobName",
            key=key,
            removal_policy=platform.removal_policy,
            time_to_live_attribute="expiresAt",
        )
        self.jobs = encrypted_table(
            self, "Jobs", partition_key="jobId", key=key, removal_policy=platform.removal_policy
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
                "DATA_SOURCES": data_sources_setting,
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
                server_url=label_studio.url,
                token_secret=label_studio.token_secret,
                webhook_secret=label_studio.webhook_secret,
                projects_setting=projects_setting,
                results_bucket=results_bucket,
                artifacts_bucket=artifacts_bucket,
                tokens=self.tokens,
                skills=skills,
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
        self._acknowledge_state_machine_role()

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
        self._grant_own(project_names)

    def _grant_own(self, project_names: Sequence[str]) -> None:
        """What the functions do with the tables, topic and state machine, and in SageMaker.

        StartLabelingJob creates (and tags) labeling jobs named after a configured project and
        writes task tokens. JobEvents reads task tokens, describes those jobs and reports their
        end to the waiting step. The intake trigger puts, reads and updates job items,
        publishes to the topic and starts executions. Publish updates job items, publishes to
        the topic and puts events on the default event bus. RecordFailure describes the job's
        labeling jobs, updates job items, publishes to the topic and puts events. The Label
        Studio functions use the tokens table, and its webhook and sweep resume waiting steps.
        """
        jobs = self.labeling_job_arns
        start = self.start_job.function
        start.add_to_role_policy(
            iam.PolicyStatement(
                sid="CreateLabelingJobs",
                actions=["sagemaker:CreateLabelingJob", "sagemaker:AddTags"],
                resources=jobs,
            )
        )
        self.tokens.grant_read_write_data(start)

        job_events = self.job_events.function
        self.tokens.grant_read_data(job_events)
        self.state_machine.grant_task_response(job_events)

        intake = self.intake.function
        self.jobs.grant(intake, "dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem")
        self.topic.grant_publish(intake)
        self.state_machine.grant_start_execution(intake)

        publish = self.publish.function
        self.jobs.grant(publish, "dynamodb:UpdateItem")
        self.topic.grant_publish(publish)

        record = self.record_failure.function
        self.jobs.grant(record, "dynamodb:UpdateItem")
        self.topic.grant_publish(record)

        for function in (job_events, record):
            function.add_to_role_policy(
                iam.PolicyStatement(
                    sid="DescribeLabelingJobs",
                    actions=["sagemaker:DescribeLabelingJob"],
                    resources=jobs,
                )
            )
        for function in (publish, record):
            function.add_to_role_policy(
                iam.PolicyStatement(
                    sid="PutJobEvents",
                    actions=["events:PutEvents"],
                    resources=[
                        f"arn:{Aws.PARTITION}:events:{Aws.REGION}:{Aws.ACCOUNT_ID}:event-bus/default"
                    ],
                )
            )
        job_reason = (
            "Labeling-job names are <project>-<jobId>-<index>, chosen per execution; the "
            "wildcard covers the jobs of one configured project only"
        )
        for runtime in (self.start_job, self.job_events, self.record_failure):
            Validations.of(runtime.role).acknowledge(
                *(
                    Acknowledgment(
                        id=(
                            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:"
                            f"<AWS::Region>:<AWS::AccountId>:labeling-job/{name}-*]"
                        ),
                        reason=job_reason,
                    )
                    for name in project_names
                )
            )

        if self.label_studio is not None:
            self._grant_label_studio(self.label_studio)

    def _grant_label_studio(self, studio: LabelStudioFunctions) -> None:
        for runtime in studio.functions:
            self.tokens.grant(
                runtime.function,
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:Scan",
            )
        # A policy of its own, not the functions' default policy: the start function's
        # environment names the webhook's URL and the state machine names the start
        # function, so the webhook function must not depend on the state machine.
        iam.Policy(
            self,
            "LabelStudioTaskResponse",
            roles=[studio.webhook.role, studio.sweep.role],
            statements=[
                iam.PolicyStatement(
                    actions=["states:SendTaskSuccess", "states:SendTaskFailure"],
                    resources=[self.state_machine.state_machine_arn],
                )
            ],
        )

    def _acknowledge_state_machine_role(self) -> None:
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

    def _definition(self) -> sfn.IChainable:
        failed = sfn.Fail(
            self,
            "Job failed",
            error_path="$.record.error",
            cause_path="$.record.reason",
        )

        def record(name: str, *, chunks: bool = False, validated: bool = False) -> sfn.Chain:
            """A step that records why the job ended and sends it to the Fail state.

            Args:
                chunks: pass the planned chunks (their labeling jobs are named after them).
                validated: pass Validate's result as `validation`.
            """
            payload: dict[str, object] = {
                "jobId": sfn.JsonPath.string_at("$.jobId"),
                "project": sfn.JsonPath.string_at("$.project"),
                "error": sfn.JsonPath.string_at("$.failure.Error"),
                "cause": sfn.JsonPath.string_at("$.failure.Cause"),
            }
            if chunks:
                payload["chunks"] = sfn.JsonPath.list_at("$.validation.chunks")
            if validated:
                payload["validation"] = sfn.JsonPath.object_at("$.validation")
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
            record("Record rejection"), errors=["States.ALL"], result_path="$.failure"
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
        chunks.item_processor(self._label_chunk())
        chunks.add_catch(
            record("Record failure", chunks=True, validated=True),
            errors=["States.ALL"],
            result_path="$.failure",
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
                    "validation": sfn.JsonPath.object_at("$.validation"),
                }
            ),
            payload_response_only=True,
            result_path="$.publication",
            task_timeout=sfn.Timeout.duration(Duration.minutes(16)),
        )
        _retry_lambda_service(publish)
        publish.add_catch(
            record("Record publish failure", validated=True),
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

    def _label_chunk(self) -> sfn.IChainable:
        """A chunk's child execution: its labeling job on Ground Truth or on Label Studio."""
        # Creating labeling jobs is throttled per account.
        ground_truth = self._wait_for_job(
            "Start labeling job",
            self.start_job.function,
            retry_errors=JOB_START_RETRY_ERRORS,
            first_retry=Duration.seconds(5),
            attempts=8,
        )
        if self.label_studio is None:
            return ground_truth
        studio = self._wait_for_job(
            "Start Label Studio job",
            self.label_studio.start.function,
            retry_errors=LABEL_STUDIO_RETRY_ERRORS,
            first_retry=Duration.seconds(10),
            attempts=6,
        )
        return (
            sfn.Choice(self, "Which backend?")
            .when(sfn.Condition.string_equals("$.backend", "labelstudio"), studio)
            .otherwise(ground_truth)
        )

    def _wait_for_job(
        self,
        name: str,
        function: lambda_.IFunction,
        *,
        retry_errors: Sequence[str],
        first_retry: Duration,
        attempts: int,
    ) -> tasks.LambdaInvoke:
        """A step that starts a chunk's labeling job and waits for its task token.

        Every backend's step takes the same event
        (`{"taskToken", "jobId", "project", "chunk"}`, `job_contracts.steps.StartRequest`),
        waits as long and ends with the same output, what the job's end resumes the token
        with. There is no heartbeat: Ground Truth reports a job's end only, so nothing could
        send one. `retry_errors` are the function's own transient errors, retried with growing,
        jittered waits from `first_retry` on, `attempts` times at most.
        """
        # A callback task cannot use payload_response_only (CDK rejects it with any
        # integration pattern): its output is what the job's end sends with the token.
        step = tasks.LambdaInvoke(
            self,
            name,
            lambda_function=function.latest_version,
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
        _retry_lambda_service(step)
        step.add_retry(
            errors=list(retry_errors),
            interval=first_retry,
            max_attempts=attempts,
            backoff_rate=2,
            max_delay=Duration.minutes(5),
            jitter_strategy=sfn.JitterType.FULL,
        )
        return step
