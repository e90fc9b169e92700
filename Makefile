# The two commands:  make up STACK=dev   and   make test
# Every target sets up what it needs first (scripts/bootstrap.sh).
STACK ?= dev
PY := .venv/bin/python
export PULUMI_BACKEND_URL ?= file://$(CURDIR)/.state
MARKDOWN ?=
JSON ?=
BASE ?=
PYTEST_ARGS ?=

.PHONY: help requirements venv dev-venv fast-venv prereqs stack pack-config gate-stack lock images preview up smoke check diff lint test test-fast bench backup restore

help:
	@echo "make up STACK=dev|prod     check prerequisites, run the offline gate, then pulumi up (shows the preview first)"
	@echo "make preview STACK=...     pulumi preview with the policy pack"
	@echo "make check [STACK=...]     offline policy gate of every stack, or of STACK (no CLI, no Docker, no credentials)"
	@echo "make diff STACK=... BASE=ref  offline: what pulumi up would change since a git ref, and its downtime"
	@echo "make smoke STACK=...       after pulumi up: check every service answers"
	@echo "make lock STACK=...        record the stack's models (digest, size, architecture) in models.lock.json"
	@echo "make images [RECORD=1]     online: fail when a pinned image tag moved upstream (RECORD=1: record the digests)"
	@echo "make pack-config           regenerate policies/config/<stack>.json from the stack files"
	@echo "make test                  lint, type-check and every test, including real Docker/Traefik/LiteLLM"
	@echo "make bench                 timing figures for the README"
	@echo "make requirements          rewrite the lock files from requirements*.in (UPGRADE=1: newest allowed)"
	@echo "make backup STACK=...      take a backup now (restic snapshot of Postgres and Open WebUI)"
	@echo "make restore STACK=... FROM=<snapshot|latest> [YES=1]   verify, say what is overwritten, ask, restore"

# `make check` and `make diff` run on every PR. Once the venv holds these locks, make sees it by
# itself (this stamp is newer than every lock and than bootstrap) and starts no shell and no
# Python for it; bootstrap's own stamp still decides what to install when it does run.
RUNTIME_STAMP := .venv/.make-runtime
$(RUNTIME_STAMP): scripts/bootstrap.sh $(wildcard requirements*.txt) tools/requirements.txt policies/requirements.txt
	@scripts/bootstrap.sh runtime
	@touch $@

venv: $(RUNTIME_STAMP)

dev-venv:
	@scripts/bootstrap.sh dev

prereqs: venv
	@$(PY) -m tools.prereqs --stack $(STACK)

# Local state and the passphrase secrets provider: no account needed.
stack: prereqs
	@mkdir -p .state
	@pulumi stack select $(STACK) 2>/dev/null || pulumi stack init $(STACK) --secrets-provider passphrase

policies/venv/.ok: policies/requirements.txt
	@python3 -m venv policies/venv && policies/venv/bin/pip install -q --require-hashes -r policies/requirements.txt && touch $@

# Rewrite the lock files (requirements*.txt, exact versions and hashes) from their .in inputs, with
# the venv's uv, or one on PATH (Renovate's job, .github/workflows/renovate.yml, has no venv).
requirements:
	@[ -x .venv/bin/uv ] || command -v uv >/dev/null || scripts/bootstrap.sh dev
	scripts/lock-requirements.sh

# The pack's per-stack config (host capacity, exposure) is derived from the stack file.
pack-config: venv
	@$(PY) -m tools.packconfig $(if $(filter command line,$(origin STACK)),--stack $(STACK))

# The one online step: manifests and GGUF headers from the registry (REGISTRY= overrides its URL).
lock: venv
	@$(PY) -m tools.lock --stack $(STACK) $(if $(REGISTRY),--registry $(REGISTRY))

# Online too: the digest of every pinned image tag (images.lock.json); the program pulls tag@digest.
images: venv
	@$(PY) -m tools.images $(if $(RECORD),--record)

# preview and up check the stack file first (the offline gate, which also writes the pack's
# config), so a broken file gets the gate's message before anything needs the Pulumi CLI.
gate-stack: venv
	@$(PY) -m tools.gate --stack $(STACK) --write-pack-config

preview: gate-stack stack policies/venv/.ok
	pulumi preview --stack $(STACK) --policy-pack policies --policy-pack-config policies/config/$(STACK).json

up: gate-stack stack policies/venv/.ok
	pulumi up --stack $(STACK) --policy-pack policies --policy-pack-config policies/config/$(STACK).json
	@echo "Backups are encrypted with the stack's backup passphrase. Keep a copy off this host (a password manager):"
	@echo "  pulumi stack output --stack $(STACK) --show-secrets backupPassphrase"
	@echo "Without it, and without .state/ and PULUMI_CONFIG_PASSPHRASE, no backup can be read."

SMOKE_ARGS ?=

smoke: venv
	$(PY) -m tools.smoke --stack $(STACK) $(SMOKE_ARGS)

# Without STACK=, every Pulumi.<stack>.yaml is checked and reported; STACK="dev prod" checks those.
# The gate regenerates each stack's pack config itself (no separate `make pack-config` process).
check: venv
	$(PY) -m tools.gate $(if $(filter command line environment,$(origin STACK)),$(foreach s,$(STACK),--stack $(s))) \
	  --write-pack-config $(if $(MARKDOWN),--markdown "$(MARKDOWN)")

# Offline: evaluates the stack at BASE (a git ref) and in the working tree; exit 0 when it ran.
diff: venv
	@test -n "$(BASE)" || { echo "make diff: set BASE=<git ref>, e.g. make diff STACK=$(STACK) BASE=main" >&2; exit 2; }
	$(PY) -m tools.diff --stack $(STACK) --base "$(BASE)" $(if $(MARKDOWN),--markdown "$(MARKDOWN)") $(if $(JSON),--json "$(JSON)")

LINT_PATHS := stack tools policies tests scripts __main__.py

lint: dev-venv
	.venv/bin/ruff check $(LINT_PATHS)
	.venv/bin/ruff format --check $(LINT_PATHS)
	.venv/bin/mypy

test: lint
	$(PY) -m pytest tests $(PYTEST_ARGS)

# No Docker and nothing of the integration tier: a light venv (scripts/bootstrap.sh fast).
fast-venv:
	@scripts/bootstrap.sh fast

test-fast: fast-venv
	$(PY) -m pytest tests --ignore=tests/integration $(PYTEST_ARGS)

bench: dev-venv
	$(PY) -m tools.bench

# Both run the stack's own backup steps against DOCKER_HOST (or the local engine).
backup: venv
	$(PY) -m tools.backup backup --stack $(STACK)

restore: venv
	$(PY) -m tools.backup restore --stack $(STACK) --from "$(FROM)" $(if $(YES),--yes)
