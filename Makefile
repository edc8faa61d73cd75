# Two commands matter: `make run` and `make test`. Both set everything up themselves.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MODEL_DIR ?= instance/models/current
export FLASK_APP := webapp:create_app

.PHONY: run test venv migrate model clean bench loadtest

$(STAMP): requirements.txt requirements-nodeps.txt requirements-dev.txt requirements-render.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt -r requirements-dev.txt -r requirements-render.txt
	$(BIN)/pip install --quiet --no-deps -r requirements-nodeps.txt
	touch $@

venv: $(STAMP)

migrate: venv
	mkdir -p instance
	$(BIN)/flask db upgrade

$(MODEL_DIR)/meta.json: | venv
	@echo "Training the starter models (first run only; a few minutes)..."
	$(BIN)/python -m ml.train_starter --out $(MODEL_DIR)

model: $(MODEL_DIR)/meta.json

run: migrate model
	MODEL_DIR=$(MODEL_DIR) $(BIN)/flask ml register-starter
	PATH=$(CURDIR)/$(BIN):$$PATH CELERY_BEAT_SCHEDULE_FILE=$(CURDIR)/instance/celerybeat-schedule \
	  BIND=$${BIND:-$${HOST:-127.0.0.1}:$${PORT:-5000}} $(BIN)/honcho start -p $${PORT:-5000} web worker beat

# Lint first (pyproject.toml): a style error fails in a second, before the services start.
test: venv
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Speed, load and footprint figures (docs/performance.md); BENCH_ARGS=--quick for a short run.
bench: model
	BENCH_BUNDLE=$${BENCH_BUNDLE:-$(MODEL_DIR)} $(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf instance .cache .pytest_cache

# Benchmark, not a test: 200 polling + 20 uploading clients for 60 s against gunicorn and a
# real worker on private services; fails on any 5xx or lost job (bench/loadtest.py).
loadtest: venv
	$(BIN)/python -m bench.loadtest $(LOADTEST_ARGS)
