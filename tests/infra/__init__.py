"""Tests of the CDK app: stack contents, configuration, cdk-nag and contracts with lambdas/."""
