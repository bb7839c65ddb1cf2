# aftercare: the two commands are `make demo` and `make test`. Both install what they need
# into .venv on first use (moto server, cfn-lint, SAM CLI, cargo-lambda with zig, from PyPI).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
VENV_STAMP := $(VENV)/.installed
CHECKOV := $(VENV)/checkov
CHECKOV_STAMP := $(CHECKOV)/.installed
export SAM_CLI_TELEMETRY := 0
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: demo test test-fast venv lint unit integration events-check template-check events clean build invoke local-stop soak fuzz log-id bench

## demo: run realistic customer journeys through the real handlers on a local AWS emulator
demo: $(VENV_STAMP)
	cargo run --quiet -p aftercare-demo -- --out out/demo

## test: everything CI checks; the last line sums up every cargo test binary
test: $(VENV_STAMP) lint unit-and-integration events-check template-check
	@awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($$(i+1) ~ /^passed/) p += $$i; if ($$(i+1) ~ /^failed/) f += $$i } } END { printf "tests: %d passed, %d failed\n", p, f }' target/test-output.log

## bench: what one event costs. On the local emulator through the real handlers: for each order
## event and a sweep, the DynamoDB requests by operation, the write and read units DynamoDB
## would bill (from the items' real sizes, index writes included) and the SES calls. Under
## callgrind: the instructions of the domain's decisions and layouts. Of each function's release
## binary (for this machine): its size and its cold start against a stub runtime API. Prints
## the tables and writes out/bench/bench.json. A benchmark, not a test: `make test` does not
## run it. The first run builds the release binaries (several minutes).
RELEASE_DIR = $(or $(CARGO_TARGET_DIR),target)/release
bench: $(VENV_STAMP)
	cargo build --quiet --locked --release -p aftercare-bench-cpu -p order-events -p schedule -p feedback -p helpdesk-events -p ses-events
	cargo run --quiet --locked -p aftercare-bench -- out/bench $(RELEASE_DIR)

## test-fast: the suites that need no emulator, for the edit-test loop: the domain's tests, the
## adapters' (the twin, the outbox and the sweep on it), the functions' tests on the twin, and the
## twin's half of the store contract. `make test` runs them too, with everything else.
FAST_CRATES := -p aftercare-journey -p aftercare-adapters -p order-events -p schedule -p feedback -p helpdesk-events -p ses-events
test-fast:
	cargo test --locked $(FAST_CRATES) --lib --tests
	cargo test --locked -p aftercare-integration-tests --test store_contract memory::

## build: `sam build` of every function for the template's architecture (arm64 unless
## ARCH=x86_64), cross-compiled by cargo-lambda with zig from .venv; then checks each bootstrap.
ARCH ?= arm64
build: $(VENV_STAMP)
	$(VENV)/bin/python infra/local/build.py --architecture $(ARCH)

## invoke: run one function's real binary (through `cargo lambda watch`) against the local stack
##   make invoke FN=order-events EVENT=infra/events/placed.json
## A scheduled event is stamped with the current time, as EventBridge does (AT=<RFC 3339 time> to replay another).
## The local stack keeps running between calls, so journeys build up; `make local-stop` ends it.
## Each function runs warm in its own process, started again if it exits and afresh once
## rebuilt; a call waits at most 180 s for the answer, or fails saying what to do.
## FAULTS=<plan> puts the fault-injecting proxy between the functions and the emulator, e.g.
##   make invoke FN=order-events EVENT=infra/events/placed.json FAULTS=throttle=0.2,lost_answer=0.1
invoke: $(VENV_STAMP)
	@if [ -z "$(FN)" ] || [ -z "$(EVENT)" ]; then \
		echo "usage: make invoke FN=<order-events|schedule|feedback|helpdesk-events|ses-events> EVENT=infra/events/<file>.json"; exit 2; fi
	AFTERCARE_SCHEDULE_AT='$(AT)' AFTERCARE_FAULTS='$(FAULTS)' cargo run --quiet --locked -p aftercare-local -- invoke $(FN) $(EVENT)

local-stop:
	cargo run --quiet --locked -p aftercare-local -- stop

## log-id: the log id the functions' log lines name a customer by (cust_ and 16 hex digits), to
## find one customer's lines:
##   make log-id CUSTOMER=cus-1001                 # a deployed stack's key (STACK=aftercare), read
##                                                 # from its LogIdKeySecretArn output with the AWS CLI's credentials
##   make log-id CUSTOMER=cus-1001 LOCAL=1         # the local stack's key (make demo, make test, make invoke)
STACK ?= aftercare
log-id:
	@if [ -z "$(CUSTOMER)" ]; then echo "usage: make log-id CUSTOMER=<customer id> [STACK=<stack name>] [LOCAL=1]"; exit 2; fi
	@if [ -n "$(LOCAL)" ]; then \
		cargo run --quiet --locked -p aftercare-log-id -- --local "$$CUSTOMER"; \
	else \
		secret="$$(aws cloudformation describe-stacks --stack-name '$(STACK)' \
			--query "Stacks[0].Outputs[?OutputKey=='LogIdKeySecretArn'].OutputValue" --output text)"; \
		if [ -z "$$secret" ] || [ "$$secret" = None ]; then \
			echo "stack $(STACK) has no LogIdKeySecretArn output (is it deployed, in this region, from this template?)"; exit 1; fi; \
		cargo run --quiet --locked -p aftercare-log-id -- --secret "$$secret" "$$CUSTOMER"; \
	fi

## soak: the large soak (thousands of order events over hundreds of customers, redelivered,
## shuffled and applied concurrently with the schedule, through the fault proxy, with crashes)
## and its figures; `make test` runs a small one. SEED=, CUSTOMERS= and FAULTS= change it.
soak: $(VENV_STAMP)
	AFTERCARE_SOAK_SEED='$(SEED)' AFTERCARE_SOAK_CUSTOMERS='$(CUSTOMERS)' FAULTS='$(FAULTS)' \
		cargo run --quiet --locked -p aftercare-soak

## fuzz: every fuzz target under libFuzzer for FUZZ_SECONDS each (60), with its executions and
## findings; cargo-fuzz is installed into .venv/cargo on first use. A crash's input lands in
## fuzz/regressions/<target>/, which `make test` runs from then on. FUZZ_TARGETS= picks some.
FUZZ_SECONDS ?= 60
CARGO_FUZZ := $(VENV)/cargo/bin/cargo-fuzz
fuzz: $(VENV_STAMP) $(CARGO_FUZZ)
	$(VENV)/bin/python fuzz/run.py --cargo-fuzz $(CURDIR)/$(CARGO_FUZZ) --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

$(CARGO_FUZZ):
	cargo install cargo-fuzz --locked --version 0.13.2 --root $(VENV)/cargo

venv: $(VENV_STAMP)

$(CHECKOV_STAMP): infra/requirements-checkov.txt
	@test -x $(CHECKOV)/bin/python || $(PYTHON) -m venv $(CHECKOV)
	$(CHECKOV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(CHECKOV)/bin/python -m pip install --quiet --disable-pip-version-check -r infra/requirements-checkov.txt
	@touch $@

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

## template-check: SAM's own validation with cfn-lint, then checkov's policies; a skipped check
## is justified inline in template.yaml, next to the resource it concerns.
template-check: $(VENV_STAMP) $(CHECKOV_STAMP)
	sam validate --lint --template template.yaml --region us-east-1
	$(CHECKOV)/bin/checkov --file template.yaml --framework cloudformation --skip-download --compact --quiet

## events: rebuild infra/events/<status>.json from the readable events in infra/events/detail/
events:
	$(PYTHON) infra/events/build_sqs_events.py

clean:
	cargo clean
	rm -rf out
