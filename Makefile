# sovwatch: `make demo` runs the pipeline on a real local stack; `make test` runs every test.
# Both set up everything first (system packages, .venv, Kafka jars, influxd build) and are
# idempotent: with warm caches they only start what is stopped.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SOVWATCH := $(BIN)/sovwatch

.PHONY: demo test lint unit integration setup system-deps native stack stack-down dev-env \
	test-fuzz test-faults test-chaos chaos-soak bench bench-schemas bench-bad-input bench-pipeline bench-rules bench-audit bench-peers \
	bench-hotpath bench-batch-size bench-soak bench-collectors simulate

demo: setup dev-env
	$(SOVWATCH) stack up
	$(SOVWATCH) stack check
	$(SOVWATCH) demo

test: lint unit test-fuzz integration test-faults test-chaos

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# On every core (pytest-xdist): the suite is many small CLI processes.
unit: $(VENV)/.installed system-deps
	$(BIN)/pytest -q -n auto tests/unit

# 100k+ generated bad inputs through the ingest path (no servers; about a minute).
test-fuzz: $(VENV)/.installed
	$(BIN)/pytest -q tests/fuzz

# The integration fixtures start the stack if it is not running (and stop it again after).
integration: $(VENV)/.installed system-deps native
	$(BIN)/pytest -q tests/integration

# Faults against a private stack of its own (free ports, fresh run dir): kill -9, InfluxDB down
# and slow, broker restart, rebalance storm. Counts per scenario: faults-report.json + the log.
test-faults: $(VENV)/.installed system-deps native
	SOVWATCH_FAULTS_REPORT=$(CURDIR)/faults-report.json $(BIN)/pytest -q tests/faults

# Seeded chaos against a private stack: three workers, faults drawn from a printed seed (kill -9,
# SIGSTOP, graceful stop, a joiner, broker restart, InfluxDB down 60 s), checked from the servers.
# Replay a seed: make test-chaos CHAOS_SEED=N. Reports and logs: chaos-runs/<time>/seed-N/.
CHAOS_SEED ?=
SEEDS ?= 5
test-chaos: $(VENV)/.installed system-deps native
	CHAOS_SEED=$(CHAOS_SEED) SOVWATCH_CHAOS_DIR=$(CURDIR)/chaos-runs $(BIN)/pytest -q --show-capture=no tests/chaos

# SEEDS seeds one after another (from CHAOS_SEED, or a random one), a line each and a total.
chaos-soak: $(VENV)/.installed system-deps native
	CHAOS_SEED=$(CHAOS_SEED) CHAOS_SOAK=$(SEEDS) SOVWATCH_CHAOS_DIR=$(CURDIR)/chaos-runs \
		$(BIN)/pytest -q --show-capture=no tests/chaos/test_chaos.py

setup: $(VENV)/.installed system-deps native

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# Benchmarks: figures, never assertions. bench-pipeline needs (and starts) the native stack.
bench: bench-schemas bench-bad-input bench-hotpath bench-collectors bench-rules bench-audit bench-pipeline

bench-schemas: $(VENV)/.installed
	$(BIN)/python tests/bench/bench_schemas.py

# Valid events alone vs. mixed 1:1 with the fuzz tests' garbage (no servers).
bench-bad-input: $(VENV)/.installed
	$(BIN)/python tests/bench/bench_bad_input.py

bench-pipeline: stack
	$(BIN)/python tests/bench/bench_pipeline.py

bench-rules: stack
	$(BIN)/python tests/bench/bench_rules.py

bench-audit: $(VENV)/.installed
	$(BIN)/python tests/bench/bench_audit.py

# sovwatch against Telegraf, a plain kafka-python loop and Quix Streams: tests/bench/results/<date>.*
bench-peers: stack
	docker/native/telegraf.sh
	tests/bench/peers/quix-venv.sh
	$(BIN)/python tests/bench/bench_peers.py

# Per-event choices (decode, pseudonymise, line protocol, gzip level), one core, no servers.
bench-hotpath: $(VENV)/.installed
	$(BIN)/python tests/bench/bench_hotpath.py

# Telegraf adapter (json and influx formats) vs native JSON families, one core, no servers.
bench-collectors: $(VENV)/.installed
	$(BIN)/python tests/bench/bench_collectors.py

# 1k / 5k / 10k-line batches written to the stack's InfluxDB.
bench-batch-size: stack
	$(BIN)/python tests/bench/bench_hotpath.py --batch-size

# 10M events through one worker, its RSS sampled: tests/bench/results/soak-<date>.json and .png.
bench-soak: stack
	$(BIN)/python tests/bench/bench_soak.py

# Ten simulated hours of a 2-site fleet with one injected incident per rule, and its ground truth.
simulate: stack dev-env
	$(SOVWATCH) setup
	$(SOVWATCH) simulate --sites 2 --halls 1 --duration 10h --rate 2000 --truth sim-truth.jsonl
	@echo "with a worker running: $(SOVWATCH) score --truth sim-truth.jsonl"

# The dev stack's pseudonymisation key, DLQ key and audit signing key pair, generated once: the
# pair in the git-ignored .audit-keys/, the keys in the git-ignored .env (0600).
dev-env: $(VENV)/.installed
	@$(BIN)/python -m streams.dev.env

system-deps:
	@docker/native/system-deps.sh

native: system-deps
	docker/native/kafka.sh
	docker/native/influxdb.sh
	docker/native/telegraf.sh
	docker/native/alertmanager.sh
	docker/native/otelcol.sh

stack: $(VENV)/.installed native
	$(SOVWATCH) stack up

stack-down: $(VENV)/.installed
	$(SOVWATCH) stack down

# Regenerate docs/configuring.md and the runbook index from the settings models and the rule
# packs, and add a runbook skeleton for a new rule (the docs tests in `make unit` check them).
.PHONY: docs
docs: $(VENV)/.installed
	$(BIN)/python -m tests.tools.docs_pages
