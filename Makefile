# aftercare: the two commands are `make demo` and `make test`. Both install what they need
# into .venv on first use (moto server, cfn-lint, SAM CLI, cargo-lambda with zig, from PyPI).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
VENV_STAMP := $(VENV)/.installed
export SAM_CLI_TELEMETRY := 0
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: demo test venv lint unit integration events-check template-check events clean

## demo: run realistic customer journeys through the real handlers on a local AWS emulator
demo: $(VENV_STAMP)
	cargo run --quiet -p aftercare-demo -- --out out/demo

## test: everything CI checks; the last line sums up every cargo test binary
test: $(VENV_STAMP) lint unit-and-integration events-check template-check
	@awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($$(i+1) ~ /^passed/) p += $$i; if ($$(i+1) ~ /^failed/) f += $$i } } END { printf "tests: %d passed, %d failed\n", p, f }' target/test-output.log

venv: $(VENV_STAMP)

$(VENV_STAMP): infra/requirements.txt
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r infra/requirements.txt
	@touch $@

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

.PHONY: unit-and-integration
unit-and-integration: $(VENV_STAMP)
	@mkdir -p target
	cargo test --workspace --locked 2>&1 | tee target/test-output.log

events-check: $(VENV_STAMP)
	$(VENV)/bin/python infra/local/check_events.py

template-check: $(VENV_STAMP)
	sam validate --lint --template template.yaml --region us-east-1

## events: rebuild infra/events/<status>.json from the readable events in infra/events/detail/
events:
	$(PYTHON) infra/events/build_sqs_events.py

clean:
	cargo clean
	rm -rf out
