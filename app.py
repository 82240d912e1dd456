#!/usr/bin/env python3
"""The LabelFlow CDK app: stage configuration, stacks, cdk-nag checks, synth.

Select the stage with `-c stage=<name>` (cdk.json defaults to "dev").
"""

from __future__ import annotations

import sys

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from infra import assembly
from infra.config import ConfigError, load_config


def main() -> None:
    app = App()
    try:
        config = load_config(app)
        assembly.build_stacks(app, config)
    except ConfigError as exc:
        sys.exit(f"LabelFlow configuration error: {exc}")
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()


if __name__ == "__main__":
    main()
