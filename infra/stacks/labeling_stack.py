"""LabelingStack: one LabelFlow stage, composed from its constructs.

The stack turns the stage configuration into construct arguments, wires the permissions between
constructs (the only place cross-construct grants are made: the buckets and the key, the
labeling-job role, the stage's data sources, the Label Studio secrets, and the worker alerts'
markers, events and notifications) and publishes the names and ARNs that operators and the CLI
need as stack outputs. What a construct's functions do with the construct's own resources, the
construct grants itself.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Aws, CfnOutput, Duration, Stack, Tags, Validations
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_s3 as s3
from constructs import Construct, IConstruct

from infra.config import StageConfig, projects_setting
from infra.constructs.data_sources import DataLocation, DataSources
from infra.constructs.ground_truth_lambdas import GroundTruthLambdas
from infra.constructs.job_monitoring import JobMonitoring
from infra.constructs.label_studio import LabelStudio
from infra.constructs.label_studio_functions import LabelStudioFunctions
from infra.constructs.labeling_job_role import LabelingJobRole
from infra.constructs.labeling_workflow import LabelingWorkflow
from infra.constructs.numeric_layer import NumericLayer
from infra.constructs.runtime_function import FunctionPlatform
from infra.constructs.storage import Storage
from infra.constructs.worker_templates import WorkerTemplates

__all__ = ["LabelingStack"]

_RUNTIMES = {"python3.12": lambda_.Runtime.PYTHON_3_12}
_ARCHITECTURES = {"arm64": lambda_.Architecture.ARM_64, "x86_64": lambda_.Architecture.X86_64}

# Why the wildcards that CDK's bucket and key grants produce are acceptable. Every one of them
# is confined to named buckets (and their objects) or to the stage's own key.
_S3_READ_ACTIONS = {
    "Action::s3:GetObject*": (
        "CDK's read grant: GetObject, GetObjectVersion and their tags/ACL reads, only on the "
        "objects of the buckets granted here"
    ),
    "Action::s3:GetBucket*": (
        "CDK's read grant: bucket metadata such as GetBucketLocation, only on the buckets "
        "granted here"
    ),
    "Action::s3:List*": (
        "CDK's read grant: listing objects and multipart uploads, only of the buckets granted here"
    ),
}
_S3_PUT_ACTIONS = {
    "Action::s3:Abort*": (
        "CDK's put grant: aborting multipart uploads, only into the bucket prefixes granted here"
    ),
}
_KMS_ACTIONS = {
    "Action::kms:GenerateDataKey*": (
        "Writing SSE-KMS objects needs data keys; the statement names the stage's own key only"
    ),
    "Action::kms:ReEncrypt*": (
        "CDK's encrypt grant includes re-encryption; the statement names the stage's own key only"
    ),
}

# The worker templates in the artifacts bucket (job_contracts.layout.template_key).
_TEMPLATES = "templates/*"
# Ground Truth's consolidated-output folder, under any labeling job's output prefix.
_CONSOLIDATED_OUTPUT = "*annotations/consolidated-annotation/output/*"
# The workers flagged in each labeling job (job_contracts.layout.alert_key).
_ALERTS = "alerts/*"


class LabelingStack(Stack):
    """One stage: storage, the Ground Truth functions and role, the job workflow, Label Studio.

    Attributes:
        storage: The key and buckets.
        data_sources: The buckets outside the stack where items live, as declared.
        numeric_layer: The numpy/pillow layer shared by all functions.
        ground_truth: The pre-annotation and consolidation functions.
        labeling_job_role: The Ground Truth execution role.
        templates: The rendered worker templates in the artifacts bucket.
        label_studio: The stage's Label Studio server, or None when no project uses it.
        workflow: The job workflow, or None when the stage's projects have no work team (their
            labeling jobs need one).
        monitoring: Alarms, the reconciliation sweep and the dead-letter queue of the workflow.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        Tags.of(self).add("project", config.project)
        Tags.of(self).add("stage", config.stage)
        runtime = _RUNTIMES[config.runtime]
        architecture = _ARCHITECTURES[config.architecture]

        self.storage = Storage(self, "Storage", removal_policy=config.removal_policy)
        self.numeric_layer = NumericLayer(
            self,
            "NumericLayer",
            runtime=runtime,
            architecture=architecture,
            removal_policy=config.removal_policy,
        )
        powertools = lambda_.LayerVersion.from_layer_version_arn(
            self, "PowertoolsLayer", config.powertools_layer_arn(self.region)
        )
        platform = FunctionPlatform(
            runtime=runtime,
            architecture=architecture,
            layers=(powertools, self.numeric_layer.layer),
            log_retention=config.log_retention,
            log_key=self.storage.key,
            removal_policy=config.removal_policy,
        )
        self.ground_truth = GroundTruthLambdas(
            self,
            "GroundTruth",
            platform=platform,
            projects_setting=projects_setting(config.projects, config.workteam_arn),
            artifacts_bucket=self.storage.artifacts,
            key=self.storage.key,
            removal_policy=config.removal_policy,
        )
        self.labeling_job_role = LabelingJobRole(self, "LabelingJobRole")
        self.data_sources = DataSources(
            self,
            "DataSources",
            locations=[
                DataLocation(
                    bucket=source.bucket_name,
                    prefixes=source.prefixes,
                    kms_key_arns=source.kms_key_arns,
                )
                for source in config.data_sources
            ],
        )
        self.templates = WorkerTemplates(
            self, "WorkerTemplates", bucket=self.storage.artifacts, projects=config.projects
        )
        self.workflow: LabelingWorkflow | None = None
        self.monitoring: JobMonitoring | None = None
        self.label_studio: LabelStudio | None = None
        if config.label_studio is not None and any(
            p.backend == "labelstudio" for p in config.projects
        ):
            self.label_studio = LabelStudio(
                self,
                "LabelStudio",
                config=config.label_studio,
                key=self.storage.key,
                removal_policy=config.removal_policy,
                log_retention=config.log_retention,
            )
        if config.runs_jobs:
            self.workflow = LabelingWorkflow(
                self,
                "Workflow",
                platform=platform,
                projects_setting=projects_setting(config.projects, config.workteam_arn),
                project_names=[p.name for p in config.projects],
                data_sources_setting=self.data_sources.setting,
                key=self.storage.key,
                intake_bucket=self.storage.intake,
                results_bucket=self.storage.results,
                artifacts_bucket=self.storage.artifacts,
                audit_bucket=self.storage.audit,
                labeling_job_role=self.labeling_job_role.role,
                pre_annotation=self.ground_truth.pre_annotation.function,
                consolidation=self.ground_truth.consolidation.function,
                skills=self.ground_truth.skills,
                max_objects_per_job=config.max_objects_per_job,
                task_availability=Duration.seconds(
                    max(p.task_availability for p in config.projects)
                ),
                notify_emails={p.name: p.notify_emails for p in config.projects if p.notify_emails},
                label_studio=self.label_studio,
            )

        if self.workflow is not None:
            self.monitoring = self._monitor(self.workflow, platform, config)

        self._grant_labeling_job_role()
        self._grant_consolidation()
        if self.workflow is not None:
            self._grant_workflow(self.workflow)
            if self.workflow.label_studio is not None and self.label_studio is not None:
                self._grant_label_studio(self.workflow.label_studio, self.label_studio)
        if any(p.worker_alert is not None for p in config.projects):
            self._grant_worker_alerts()
        self._outputs(tuple(p.name for p in config.projects))

    def _monitor(
        self, workflow: LabelingWorkflow, platform: FunctionPlatform, config: StageConfig
    ) -> JobMonitoring:
        """Alarms, the reconciliation sweep and the dead-letter queue of the workflow.

        The EventBridge rules get their targets here, with the dead-letter queue for events
        that cannot be delivered; their functions send failed asynchronous invocations there.
        """
        monitoring = JobMonitoring(
            self,
            "Monitoring",
            platform=platform,
            key=self.storage.key,
            topic=workflow.topic,
            state_machine=workflow.state_machine,
            tokens=workflow.tokens,
            functions={
                "Validate": workflow.validate.function,
                "StartLabelingJob": workflow.start_job.function,
                "JobEvents": workflow.job_events.function,
                "PublishJob": workflow.publish.function,
                "RecordFailure": workflow.record_failure.function,
                "StartJob": workflow.intake.function,
                **(
                    {
                        "LabelStudioStart": workflow.label_studio.start.function,
                        "LabelStudioWebhook": workflow.label_studio.webhook.function,
                        "LabelStudioSweep": workflow.label_studio.sweep.function,
                    }
                    if workflow.label_studio is not None
                    else {}
                ),
            },
            labeling_job_arns=workflow.labeling_job_arns,
        )
        dead_letters = monitoring.dead_letter_queue
        for rule, function in (
            (workflow.rule, workflow.job_events.function),
            (workflow.intake_rule, workflow.intake.function),
        ):
            rule.add_target(
                targets.LambdaFunction(
                    function,
                    dead_letter_queue=dead_letters,
                    retry_attempts=8,
                    max_event_age=Duration.hours(24),
                )
            )
            function.configure_async_invoke(on_failure=destinations.SqsDestination(dead_letters))
        # Failed invocations go to the dead-letter queue, which the stage key encrypts.
        _acknowledge_wildcards(workflow.job_events.role, _KMS_ACTIONS, {})
        return monitoring

    def _grant_labeling_job_role(self) -> None:
        """Ground Truth invokes both functions, reads items and templates, writes job output.

        Items are read from intake and from the stage's data sources.

        Every S3 location a `CreateLabelingJob` request names is usable by this role: the
        chunk manifest and label-category file (results), the worker template
        (`UiTemplateS3Uri`, under `templates/` of artifacts, and nothing else there) and the
        output path (results), all encrypted with the stage key.
        """
        role = self.labeling_job_role.role
        storage = self.storage
        # The exact functions (unqualified ARN and $LATEST): no version or alias wildcard and
        # no name patterns, unlike the managed AmazonSageMakerGroundTruthExecution policy.
        self.ground_truth.pre_annotation.function.grant_invoke_latest_version(role)
        self.ground_truth.consolidation.function.grant_invoke_latest_version(role)
        storage.intake.grant_read(role)
        storage.results.grant_read(role)
        storage.results.grant_put(role)
        iam.Grant.add_to_principal(
            grantee=role,
            actions=["s3:GetObject"],
            resource_arns=[storage.artifacts.arn_for_objects(_TEMPLATES)],
        )
        # Output encryption (OutputConfig.KmsKeyId) uses the same key.
        storage.key.grant_encrypt_decrypt(role)
        storage.key.grant(role, "kms:DescribeKey")
        self.data_sources.grant_read(role)
        _acknowledge_wildcards(
            role,
            {**_S3_READ_ACTIONS, **_S3_PUT_ACTIONS, **_KMS_ACTIONS},
            {
                _objects(storage.intake): (
                    "Labeling jobs read manifests and items from any project prefix of intake"
                ),
                _objects(storage.results): (
                    "Labeling jobs read and write their output under a per-job prefix of results"
                ),
                _objects(storage.artifacts, _TEMPLATES): (
                    "Labeling jobs read their project's worker template (UiTemplateS3Uri), "
                    "templates/<project>.liquid.html; nothing else in artifacts"
                ),
            },
        )

    def _grant_consolidation(self) -> None:
        """The consolidation function reads worker payloads and writes its derived files.

        It reads the payload (and the worker responses it points to) from the job output in
        the results bucket, writes segmentation masks (and their `.json` sidecars, same key)
        next to Ground Truth's consolidated output there, and reads and writes worker-skill
        estimates (and masks of jobs whose output layout is unknown) in the artifacts bucket;
        nothing else.
        """
        function = self.ground_truth.consolidation.function
        storage = self.storage
        storage.results.grant_read(function)
        storage.results.grant_put(function, _CONSOLIDATED_OUTPUT)
        storage.artifacts.grant_read(function, "skills/*")
        storage.artifacts.grant_put(function, "skills/*")
        storage.artifacts.grant_put(function, "masks/*")
        self.ground_truth.skills.grant_read_write_data(function)
        _acknowledge_wildcards(
            self.ground_truth.consolidation.role,
            {**_S3_READ_ACTIONS, **_S3_PUT_ACTIONS, **_KMS_ACTIONS},
            {
                _objects(storage.results): (
                    "Worker payloads and responses sit under each labeling job's output prefix"
                ),
                _objects(storage.results, _CONSOLIDATED_OUTPUT): (
                    "Segmentation masks go to the consolidated-output folder of the job at hand"
                ),
                _objects(storage.artifacts, "skills/*"): (
                    "Worker-skill estimates: one object per project, job and batch under skills/"
                ),
                _objects(storage.artifacts, "masks/*"): (
                    "Masks of batches whose payload is outside a Ground Truth output layout"
                ),
            },
        )

    def _grant_workflow(self, workflow: LabelingWorkflow) -> None:
        """What the workflow's functions read and write in the buckets, and the key they use.

        Validate reads manifests (and checks the items they reference) in intake, checks items
        and reads the CORS rules of the stage's data sources, and writes the clean manifest,
        rejects, counts and chunks under `jobs/` of results.
        StartLabelingJob passes the labeling-job role to SageMaker and writes each job's
        label-category file under `jobs/` of results. The intake trigger writes rejection
        records under `rejected/` of results. Publish reads the chunks' output manifests under
        `jobs/` of results and the worker-skill documents under `skills/` of artifacts, writes
        the job's output under `jobs/` and writes the audit trail. The tables and the topic
        are encrypted with the stage key. What they do with the workflow's own tables, topic
        and state machine, and in SageMaker, the workflow grants itself.
        """
        storage = self.storage
        validate = workflow.validate.function
        start = workflow.start_job.function
        storage.intake.grant_read(validate)
        storage.results.grant_read(validate, "jobs/*")
        storage.results.grant_put(validate, "jobs/*")
        self.data_sources.grant_read(workflow.validate.role)
        self.data_sources.grant_cors_read(workflow.validate.role)
        start.add_to_role_policy(
            iam.PolicyStatement(
                sid="PassLabelingJobRole",
                actions=["iam:PassRole"],
                resources=[self.labeling_job_role.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
        storage.results.grant_put(start, "jobs/*")
        storage.key.grant_encrypt_decrypt(start)

        intake = workflow.intake.function
        # HeadObject settles an event key that URL-decodes to another key; List lets a
        # missing object answer 404 rather than 403.
        storage.intake.grant_read(intake)
        storage.results.grant_put(intake, "rejected/*")
        storage.key.grant_encrypt_decrypt(intake)

        publish = workflow.publish.function
        storage.results.grant_read(publish, "jobs/*")
        storage.results.grant_put(publish, "jobs/*")
        storage.artifacts.grant_read(publish, "skills/*")
        storage.audit.grant_read(publish, "audit/*")
        storage.audit.grant_put(publish, "audit/*")
        storage.key.grant_encrypt_decrypt(publish)

        record = workflow.record_failure.function
        storage.results.grant_read(record, "jobs/*/validation.json")
        storage.key.grant_encrypt_decrypt(record)

        _acknowledge_wildcards(
            workflow.validate.role,
            {**_S3_READ_ACTIONS, **_S3_PUT_ACTIONS, **_KMS_ACTIONS},
            {
                _objects(storage.intake): (
                    "Validate reads manifests and checks the items they reference under any "
                    "project prefix of intake"
                ),
                _objects(storage.results, "jobs/*"): (
                    "Validate writes the clean manifest, rejects, counts and chunks of each "
                    "job under jobs/<jobId>/ of results"
                ),
            },
        )
        _acknowledge_wildcards(
            workflow.start_job.role,
            {**_S3_PUT_ACTIONS, **_KMS_ACTIONS},
            {
                _objects(storage.results, "jobs/*"): (
                    "StartLabelingJob writes each job's label-category file under "
                    "jobs/<jobId>/ of results"
                ),
            },
        )
        _acknowledge_wildcards(
            workflow.record_failure.role,
            {**_S3_READ_ACTIONS, **_KMS_ACTIONS},
            {
                _objects(storage.results, "jobs/*/validation.json"): (
                    "RecordFailure reads what Validate counted for the failed job, under "
                    "jobs/<jobId>/ of results"
                ),
            },
        )
        _acknowledge_wildcards(
            workflow.intake.role,
            {**_S3_READ_ACTIONS, **_S3_PUT_ACTIONS, **_KMS_ACTIONS},
            {
                _objects(storage.intake): (
                    "The intake trigger checks which key a URL-encoded event key names, under "
                    "any project prefix of intake"
                ),
                _objects(storage.results, "rejected/*"): (
                    "The intake trigger writes one rejection record per rejected key under "
                    "rejected/ of results"
                ),
            },
        )
        _acknowledge_wildcards(
            workflow.publish.role,
            {**_S3_READ_ACTIONS, **_S3_PUT_ACTIONS, **_KMS_ACTIONS},
            {
                _objects(storage.results, "jobs/*"): (
                    "Publish reads each chunk's output manifest and writes the job's output "
                    "under jobs/<jobId>/ of results"
                ),
                _objects(storage.artifacts, "skills/*"): (
                    "Publish reads the worker-skill documents of the job's labeling jobs "
                    "under skills/<project>/<jobName>/"
                ),
                _objects(storage.audit, "audit/*"): (
                    "Publish writes (and on a retry compares) the audit log of each labeling "
                    "job under audit/<project>/<jobId>/"
                ),
            },
        )

    def _grant_label_studio(self, studio: LabelStudioFunctions, server: LabelStudio) -> None:
        """The Label Studio backend's functions: what the Ground Truth path's functions do.

        All three read chunk manifests and write each job's output under `jobs/` of results,
        read labeling configs under `templates/` and worker skill under `skills/` of
        artifacts and write batch skill there, and read the server's API-token and webhook
        secrets. The start function also reads intake and the stage's data sources (the
        presigned image links carry its permissions).
        """
        storage = self.storage
        for runtime in studio.functions:
            function = runtime.function
            storage.results.grant_read(function, "jobs/*")
            storage.results.grant_put(function, "jobs/*")
            storage.artifacts.grant_read(function, _TEMPLATES)
            storage.artifacts.grant_read(function, "skills/*")
            storage.artifacts.grant_put(function, "skills/*")
            self.ground_truth.skills.grant_read_write_data(function)
            storage.key.grant_encrypt_decrypt(function)
            server.token_secret.grant_read(function)
            server.webhook_secret.grant_read(function)
        storage.intake.grant_read(studio.start.function)
        self.data_sources.grant_read(studio.start.role)
        findings = {
            _objects(storage.results, "jobs/*"): (
                "Label Studio jobs read their chunk's manifest and write Ground Truth's output "
                "layout under jobs/<jobId>/gt/<jobName>/"
            ),
            _objects(storage.artifacts, _TEMPLATES): (
                "Label Studio jobs read the project's labeling config under templates/"
            ),
            _objects(storage.artifacts, "skills/*"): (
                "Worker skill per project and batch under skills/, as the consolidation Lambda"
            ),
        }
        for runtime in studio.functions:
            extra = (
                {
                    _objects(storage.intake): (
                        "Tasks link to the manifest's images under any project prefix of "
                        "intake, by presigned URLs signed with this function's permissions"
                    )
                }
                if runtime is studio.start
                else {}
            )
            _acknowledge_wildcards(
                runtime.role,
                {**_S3_READ_ACTIONS, **_S3_PUT_ACTIONS, **_KMS_ACTIONS},
                {**findings, **extra},
            )

    def _grant_worker_alerts(self) -> None:
        """The functions that consolidate flag workers: markers, the event, the notification.

        Only when a project has a `worker_alert`. The consolidation function and the Label
        Studio webhook and sweep (which consolidate, or check running jobs) write and delete
        the markers under `alerts/` of artifacts (they already list the bucket), put events on
        the default bus and, where the stage runs the job workflow, publish to its topic,
        whose ARN they get as `TOPIC_ARN`.
        """
        artifacts = self.storage.artifacts
        runtimes = [self.ground_truth.consolidation]
        studio = self.workflow.label_studio if self.workflow is not None else None
        if studio is not None:
            runtimes += [studio.webhook, studio.sweep]
        for runtime in runtimes:
            function = runtime.function
            function.add_to_role_policy(
                iam.PolicyStatement(
                    sid="WorkerAlertMarkers",
                    actions=["s3:PutObject", "s3:DeleteObject"],
                    resources=[artifacts.arn_for_objects(_ALERTS)],
                )
            )
            function.add_to_role_policy(
                iam.PolicyStatement(
                    sid="PutWorkerAlertEvents",
                    actions=["events:PutEvents"],
                    resources=[
                        f"arn:{Aws.PARTITION}:events:{Aws.REGION}:{Aws.ACCOUNT_ID}:event-bus/default"
                    ],
                )
            )
            if self.workflow is not None:
                self.workflow.topic.grant_publish(function)
                function.add_environment("TOPIC_ARN", self.workflow.topic.topic_arn)
            Validations.of(runtime.role).acknowledge(
                Acknowledgment(
                    id=f"AwsSolutions-IAM5[{_objects(artifacts, _ALERTS)}]",
                    reason=(
                        "Flagged workers: one marker per project, labeling job and worker "
                        "under alerts/, written once and deleted if the alert fails"
                    ),
                )
            )

    def _outputs(self, projects: tuple[str, ...]) -> None:
        storage = self.storage
        functions = self.ground_truth
        outputs = {
            "IntakeBucketName": storage.intake.bucket_name,
            "ResultsBucketName": storage.results.bucket_name,
            "ArtifactsBucketName": storage.artifacts.bucket_name,
            "AuditBucketName": storage.audit.bucket_name,
            "PreAnnotationFunctionArn": functions.pre_annotation.function.function_arn,
            "ConsolidationFunctionArn": functions.consolidation.function.function_arn,
            "LabelingJobRoleArn": self.labeling_job_role.role.role_arn,
            "KeyArn": storage.key.key_arn,
            # The CLI checks a project name against these before it uploads a manifest.
            "ProjectNames": ",".join(projects),
        }
        if self.workflow is not None:
            outputs["WorkflowStateMachineArn"] = self.workflow.state_machine.state_machine_arn
            outputs["TokensTableName"] = self.workflow.tokens.table_name
            outputs["JobsTableName"] = self.workflow.jobs.table_name
            outputs["NotificationTopicArn"] = self.workflow.topic.topic_arn
            if self.workflow.label_studio is not None and self.label_studio is not None:
                outputs["LabelStudioUrl"] = self.label_studio.url
                outputs["LabelStudioWebhookUrl"] = self.workflow.label_studio.url
        for output_id, value in outputs.items():
            CfnOutput(self, output_id, value=value)


def _objects(bucket: s3.IBucket, pattern: str = "*") -> str:
    """How cdk-nag names `<bucket ARN>/<pattern>` in an IAM5 finding."""
    arn = Stack.of(bucket).resolve(bucket.bucket_arn)
    logical_id = arn["Fn::GetAtt"][0]
    return f"Resource::<{logical_id}.Arn>/{pattern}"


def _acknowledge_wildcards(
    grantee: IConstruct, actions: dict[str, str], resources: dict[str, str]
) -> None:
    """Acknowledge the IAM5 findings of the grants made to `grantee`, each with its reason."""
    Validations.of(grantee).acknowledge(
        *(
            Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=reason)
            for finding, reason in {**actions, **resources}.items()
        )
    )
