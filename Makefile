# Two commands matter: `make run` and `make test`. Both set everything up themselves.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MODEL_DIR ?= instance/models/current
STARTER := models/starter
RENDERS ?= .cache/renders/v2
export FLASK_APP := webapp:create_app

.PHONY: run test venv migrate model starter clean bench loadtest

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

# The starter trained on rendered photos ships in models/starter (docs/models.md says why), so a
# fresh machine copies it instead of rendering and training for half an hour or more.
$(MODEL_DIR)/meta.json: | venv
	mkdir -p $(dir $(MODEL_DIR))
	cp -r $(STARTER) $(MODEL_DIR)

model: $(MODEL_DIR)/meta.json

# Reproduce models/starter from nothing: render the catalogue (resumable, ~25 min of one core),
# train on it, then record the bundle's self-check on renders it never saw.
starter: venv
	$(BIN)/python -m ml.train_starter --renders $(RENDERS) --out $(STARTER)
	$(BIN)/python -m ml.render.catalog --out .cache/renders/check --start 100000 --count 40 --threads 2
	$(BIN)/python -m ml.starter_check record --bundle $(STARTER) --renders .cache/renders/check

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
