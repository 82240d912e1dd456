"""The stage's DynamoDB tables, all alike: on demand, encrypted with the stage key, with
point-in-time recovery."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

__all__ = ["encrypted_table"]


def encrypted_table(
    scope: Construct,
    id_: str,
    *,
    partition_key: str,
    key: kms.IKey,
    removal_policy: RemovalPolicy,
    sort_key: str | None = None,
    time_to_live_attribute: str | None = None,
) -> dynamodb.Table:
    """A table keyed by string attributes (``partition_key``, and ``sort_key`` if given)."""
    return dynamodb.Table(
        scope,
        id_,
        partition_key=dynamodb.Attribute(name=partition_key, type=dynamodb.AttributeType.STRING),
        sort_key=(
            dynamodb.Attribute(name=sort_key, type=dynamodb.AttributeType.STRING)
            if sort_key is not None
            else None
        ),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryption_key=key,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        time_to_live_attribute=time_to_live_attribute,
        removal_policy=removal_policy,
    )
