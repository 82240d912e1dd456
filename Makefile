# LabelFlow: two commands do everything on a fresh clone.
#   make demo   set up, then run a complete labeling job on this machine through a local
#               Label Studio (emulated AWS, real handwritten digits, simulated annotators)
#   make test   set up, then lint, type-check, synthesize (cdk-nag), cfn-lint and pytest
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Label Studio lives in its own environment: its Django and other pins must not constrain ours.
LS_VENV := .ls-venv
# Debian's chromium, driven by Playwright in the browser tests. Debian's security archive keeps
# only its newest build: when this one is gone, the newest is installed and a warning printed.
CHROMIUM := /usr/bin/chromium
CHROMIUM_VERSION := 156.0.8078.108-1~deb12u1
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE :=

.PHONY: demo test setup lint typecheck synth cfn-lint pytest bench clean

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip==25.3
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[lambda,infra,dev]"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(LS_VENV)/.installed: requirements-labelstudio.txt
	rm -rf $(LS_VENV)
	$(PYTHON) -m venv $(LS_VENV)
	$(LS_VENV)/bin/pip install --quiet --disable-pip-version-check --upgrade pip==25.3
	$(LS_VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -r requirements-labelstudio.txt
	$(LS_VENV)/bin/pip check --disable-pip-version-check
	touch $@

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		chromium=$(CHROMIUM_VERSION) chromium-common=$(CHROMIUM_VERSION) \
	|| { echo "chromium $(CHROMIUM_VERSION) is no longer in Debian's archive; installing the newest" >&2; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }
	$(CHROMIUM) --version

setup: $(VENV)/.installed $(LS_VENV)/.installed $(CHROMIUM) node_modules/.installed

# demo, pytest and bench load the CDK app, whose jsii side runs on the pinned node_modules/.bin/node.
demo: $(VENV)/.installed $(LS_VENV)/.installed node_modules/.installed
	$(BIN)/labelflow demo

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed
	$(BIN)/mypy

synth: setup
	rm -rf cdk.out
	# CDK's built-in template validation repeats what cfn-lint checks below, at 3x the cost.
	# A placeholder work team so the job workflow, which only exists where a work team is
	# configured, is synthesized and linted too.
	CDK_VALIDATION=false npx --no-install cdk synth --quiet --no-notices \
		-c workteam_arn=arn:aws:sagemaker:us-east-1:111122223333:workteam/private-crowd/labelflow-ci \
		> /dev/null

cfn-lint: synth
	$(BIN)/cfn-lint -i W3005 -- cdk.out/*.template.json

pytest: $(VENV)/.installed $(LS_VENV)/.installed $(CHROMIUM) node_modules/.installed
	$(BIN)/pytest -q -n 2

test: lint typecheck cfn-lint pytest

bench: $(VENV)/.installed node_modules/.installed
	$(BIN)/python -m benchmarks.consolidation.run
	$(BIN)/python -m benchmarks.validation.run
	$(BIN)/python -m benchmarks.workflow.run

clean:
	rm -rf $(VENV) $(LS_VENV) node_modules cdk.out build test-artifacts .pytest_cache .mypy_cache .ruff_cache
