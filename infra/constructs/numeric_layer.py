"""NumericLayer: numpy and pillow for the Lambda functions, as one layer built without Docker.

The layer's asset is produced at synth time by `pip install --platform ... --only-binary=:all:
--target`, run by the synthesizing Python interpreter, so it works on any host that reaches a
Python package index, with no container engine. The pins are the `requirements.txt` next to this
module; the asset hash covers that file, the Python version and the platform, so changing any of
them produces a new layer version.

If pip fails, synthesis fails: there is deliberately no fallback to Docker bundling. Unit-test
synths skip bundling altogether with the context `{"aws:cdk:bundling-stacks": []}`; the asset is
then the requirements file itself, which is fine for assertions and never deployed.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import cast

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

__all__ = ["REQUIREMENTS", "NumericLayer", "PipLocalBundling"]

REQUIREMENTS = Path(__file__).resolve().parent / "numeric_layer" / "requirements.txt"

_PIP_PLATFORMS = {"arm64": "manylinux_2_28_aarch64", "x86_64": "manylinux_2_28_x86_64"}


@jsii.implements(ILocalBundling)
class PipLocalBundling:
    """Installs pinned wheels for the Lambda platform into `<output>/python` on the host."""

    def __init__(self, *, requirements: Path, platform: str, python_version: str) -> None:
        self.requirements = requirements
        self.platform = platform
        self.python_version = python_version

    def command(self, output_dir: str) -> list[str]:
        """The pip command line that builds the layer into `output_dir`."""
        return [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--quiet",
            "--platform",
            self.platform,
            "--implementation",
            "cp",
            "--python-version",
            self.python_version,
            "--only-binary=:all:",
            "--no-compile",
            "--no-deps",
            "--target",
            str(Path(output_dir) / "python"),
            "--requirement",
            str(self.requirements),
        ]

    def try_bundle(self, output_dir: str, options: BundlingOptions) -> bool:
        """Run pip; raise on failure so CDK never falls back to Docker.

        jsii passes the bundling options as one positional struct; pip needs none of them.
        """
        del options
        result = subprocess.run(
            self.command(output_dir), capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"building the numeric layer failed (pip exit {result.returncode}):\n"
                f"{result.stderr.strip() or result.stdout.strip()}"
            )
        return True


class NumericLayer(Construct):
    """A Lambda layer with numpy and pillow for one runtime and architecture.

    Attributes:
        layer: The layer version.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        runtime: lambda_.Runtime,
        architecture: lambda_.Architecture,
        removal_policy: RemovalPolicy,
    ) -> None:
        if not runtime.name.startswith("python3."):
            raise ValueError(f"runtime {runtime.name!r} is not a Python runtime")
        platform = _PIP_PLATFORMS.get(architecture.name)
        if platform is None:
            raise ValueError(f"architecture {architecture.name!r} has no wheel platform")
        super().__init__(scope, id_)

        python_version = runtime.name.removeprefix("python")
        bundling = PipLocalBundling(
            requirements=REQUIREMENTS, platform=platform, python_version=python_version
        )
        fingerprint = hashlib.sha256()
        fingerprint.update(REQUIREMENTS.read_bytes())
        fingerprint.update(f"\n{platform}\n{python_version}\n".encode())
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=lambda_.Code.from_asset(
                str(REQUIREMENTS.parent),
                asset_hash_type=AssetHashType.CUSTOM,
                asset_hash=fingerprint.hexdigest(),
                bundling=BundlingOptions(
                    # Never pulled: local bundling either succeeds or raises.
                    image=DockerImage.from_registry(f"public.ecr.aws/sam/build-{runtime.name}"),
                    # jsii.implements makes it an ILocalBundling at run time.
                    local=cast(ILocalBundling, bundling),
                ),
            ),
            compatible_runtimes=[runtime],
            compatible_architectures=[architecture],
            description=f"numpy and pillow for {runtime.name} on {architecture.name}",
            removal_policy=removal_policy,
        )
