"""LabelStudioFunctions: the Label Studio backend's functions (`lambdas/labelstudio_backend`).

Creates:
- `start`: a chunk's first step on Label Studio; it creates the chunk's Label Studio project,
  imports its tasks (images as presigned links) and stores the step's task token;
- `webhook`: receives Label Studio's webhooks at `url`, a function URL without IAM
  authentication (the shared secret in each call's header authenticates it), and finishes
  the jobs whose tasks all have their answers;
- `sweep`: every 15 minutes (`schedule`), finishes jobs whose webhook was lost or whose
  deadline passed.

Every function gets the server's `LABEL_STUDIO_URL`, the ARNs of its API-token and webhook
secrets, the projects, the results and artifacts buckets, the tokens table and the skill store
(finishing a job consolidates its answers) in its environment; `start` also gets the webhook's
URL (`WEBHOOK_URL`).

Left to the caller: every grant. Reading the secrets, the buckets and the key, using the tokens
table and the skill store, and resuming the state machine's waiting steps; and, when a project
has worker alerts, the webhook's and the sweep's `TOPIC_ARN` and what flagging workers takes.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.constructs.runtime_function import FunctionPlatform, RuntimeFunction

__all__ = [
    "LABEL_STUDIO_START_HANDLER",
    "LABEL_STUDIO_SWEEP_HANDLER",
    "LABEL_STUDIO_WEBHOOK_HANDLER",
    "LabelStudioFunctions",
]

LABEL_STUDIO_START_HANDLER = "labelstudio_start.handler.lambda_handler"
LABEL_STUDIO_WEBHOOK_HANDLER = "labelstudio_webhook.handler.lambda_handler"
LABEL_STUDIO_SWEEP_HANDLER = "labelstudio_sweep.handler.lambda_handler"


class LabelStudioFunctions(Construct):
    """The Label Studio backend's functions.

    Attributes:
        start: Creates a chunk's Label Studio project and waits on its task token.
        webhook: Receives Label Studio's webhooks at `url` and finishes complete jobs.
        sweep: Finishes jobs whose webhook was lost or whose deadline passed.
        url: The webhook function's URL.
        schedule: The sweep's schedule.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        platform: FunctionPlatform,
        server_url: str,
        token_secret: secretsmanager.ISecret,
        webhook_secret: secretsmanager.ISecret,
        projects_setting: str,
        results_bucket: s3.IBucket,
        artifacts_bucket: s3.IBucket,
        tokens: dynamodb.ITable,
        skills: dynamodb.ITable,
    ) -> None:
        if not server_url.startswith(("https://", "http://")):
            raise ValueError(f"server_url must be the server's http(s) address: {server_url!r}")
        if not projects_setting.startswith("{"):
            raise ValueError("projects_setting must be the JSON object of project settings")
        super().__init__(scope, id_)
        common = {
            "LABELFLOW_PROJECTS": projects_setting,
            "RESULTS_BUCKET": results_bucket.bucket_name,
            "ARTIFACTS_BUCKET": artifacts_bucket.bucket_name,
            "TOKENS_TABLE": tokens.table_name,
            "SKILLS_TABLE": skills.table_name,
            "LABEL_STUDIO_URL": server_url,
            "LABEL_STUDIO_TOKEN_SECRET_ARN": token_secret.secret_arn,
            "WEBHOOK_SECRET_ARN": webhook_secret.secret_arn,
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

    @property
    def functions(self) -> tuple[RuntimeFunction, RuntimeFunction, RuntimeFunction]:
        """The three functions: start, webhook, sweep."""
        return (self.start, self.webhook, self.sweep)
