# Sahay. Two commands matter: `make run` and `make test`; everything else they need is made
# here on first use and reused after (each environment is rebuilt only when its lock changes).

SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
VENV := .venv
RASA_VENV := .venv-rasa
UV := $(VENV)/bin/uv
APP_READY := $(VENV)/.ready
RASA_READY := $(RASA_VENV)/.ready
PO_FILES := $(wildcard locales/*/LC_MESSAGES/sahay.po)
MO_FILES := $(PO_FILES:.po=.mo)

.PHONY: run run-prod test setup lint typecheck pytest train locales-extract bench-startup eval-nlu \
	tune-nlu bench-nlu bench-webhooks bench-load bench-broadcast bench-dashboard screenshots lock \
	clean

run: setup ## Start Sahay on the embedded default (SQLite, no tokens)
	@$(VENV)/bin/sahay run

run-prod: setup ## Production mode here: PostgreSQL, Redis, 2 web processes, 2 workers
	@$(VENV)/bin/python scripts/run_prod.py

test: setup lint typecheck pytest ## Everything CI checks

setup: $(APP_READY) $(RASA_READY) $(MO_FILES)
	@# Bytecode for Sahay's own code too: with PYTHONDONTWRITEBYTECODE set (as on CI) every
	@# start would compile it again, seconds for a worker restarted after a crash.
	@$(VENV)/bin/python -m compileall -q bot storage web nlu dialogues > /dev/null

$(APP_READY): requirements/app.lock pyproject.toml
	@scripts/check-python "$(PYTHON)"
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(UV) pip sync --quiet --compile-bytecode --python $(VENV)/bin/python requirements/app.lock
	$(UV) pip install --quiet --python $(VENV)/bin/python --no-deps -e .
	@touch $@

$(RASA_READY): requirements/rasa.lock | $(APP_READY)
	@test -x $(RASA_VENV)/bin/python || $(UV) venv --quiet --python "$$(UV=$(UV) scripts/find-python310)" $(RASA_VENV)
	$(UV) pip sync --quiet --compile-bytecode --python $(RASA_VENV)/bin/python requirements/rasa.lock
	@touch $@

locales/%/LC_MESSAGES/sahay.mo: locales/%/LC_MESSAGES/sahay.po | $(APP_READY)
	@$(VENV)/bin/pybabel compile --use-fuzzy --statistics -i $< -o $@

lint: $(APP_READY)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(APP_READY)
	$(VENV)/bin/mypy

pytest: setup
	$(VENV)/bin/pytest $(PYTEST_ARGS)

train: setup ## Train the Rasa model if nlu/ or dialogues/ changed
	$(VENV)/bin/sahay train

locales-extract: $(APP_READY) ## Refresh locales/sahay.pot and merge it into every catalogue
	$(VENV)/bin/pybabel extract -F babel.cfg -k N_ --no-location --sort-output \
	  --project Sahay --copyright-holder "Sahay contributors" -o locales/sahay.pot .
	$(VENV)/bin/pybabel update --no-fuzzy-matching -i locales/sahay.pot -d locales -D sahay
	$(VENV)/bin/pybabel extract -F babel-staff.cfg -k N_ -k _ --no-location --sort-output \
	  --project "Sahay staff" --copyright-holder "Sahay contributors" -o locales/staff.pot .

bench-startup: setup ## Time `make run` until /healthz is 200 (fresh and second start)
	$(VENV)/bin/python benchmarks/startup.py

eval-nlu: setup ## Held-out and cross-validated NLU accuracy per language and intent
	$(VENV)/bin/python benchmarks/eval_nlu.py

tune-nlu: setup ## Cross-validate the intent classifier's settings on the training data
	PYTHONPATH=. $(RASA_VENV)/bin/python benchmarks/tune_nlu.py $(TUNE_ARGS)

bench-nlu: setup ## Sahay's NLU pipeline vs Rasa's default, on Sahay's data and CLINC150
	$(VENV)/bin/python benchmarks/bench_nlu.py $(BENCH_ARGS)

bench-webhooks: setup ## Webhook acknowledgement latency under 200 concurrent posts
	$(VENV)/bin/python benchmarks/bench_webhooks.py $(BENCH_ARGS)

bench-load: setup ## 1,000 contacts for 10 minutes on production mode, then Rasa, PG, Redis failing
	$(VENV)/bin/python benchmarks/bench_load.py $(BENCH_ARGS)

bench-dashboard: setup ## The dashboard and the monthly report over a year of a busy helpline
	$(VENV)/bin/python benchmarks/bench_dashboard.py

bench-broadcast: setup ## Broadcast delivery at the platforms' limits, 1 and 3 workers, with kills
	$(VENV)/bin/python benchmarks/bench_broadcast.py $(BENCH_ARGS)

screenshots: setup ## The staff app's screenshots in docs/screenshots/ (the browser tests)
	SAHAY_SCREENSHOTS=docs/screenshots $(VENV)/bin/pytest -q \
	  tests/e2e/test_casework_browser.py tests/e2e/test_broadcast_browser.py \
	  tests/e2e/test_dashboard_browser.py

lock: $(APP_READY) ## Re-pin requirements/app.lock from pyproject.toml
	$(UV) pip compile --quiet --python-version 3.11 --extra dev pyproject.toml -o requirements/app.lock

clean:
	rm -rf $(VENV) $(RASA_VENV) var .mypy_cache .ruff_cache .pytest_cache
