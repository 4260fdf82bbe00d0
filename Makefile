# `make run` and `make test` are all a fresh machine needs (Python 3.11+, make).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
export FLASK_APP := wsgi:app
export PYTHONPATH := $(CURDIR)

PO_FILES := $(wildcard feedback_app/translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

# pytest-xdist processes for `make test` and `make test-quick` (one per core is about right).
PYTEST_WORKERS ?= 2
# --dist loadgroup: the browser suite stays on one worker (one served app per backend), and so do
# the task queue's tests, whose queue name is fixed (tests/conftest.py, GroupScheduling).
PYTEST_XDIST := -n $(PYTEST_WORKERS) --dist loadgroup

.PHONY: run setup test test-quick lint bench messages clean

# The web server and, beside it, the worker that routes views (feedback_app/worker.py); Ctrl-C
# stops both. The SQLite queue is polled, at most a second apart (huey's default backs off to 10).
run: setup
	@echo "Serving on http://$(HOST):$(PORT) with a background worker  (Ctrl-C to stop)"
	@$(BIN)/huey_consumer feedback_app.worker.huey --workers 2 --max-delay 1 --quiet & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/flask run --host $(HOST) --port $(PORT)

# Idempotent: a second run only checks that everything is in place. One process (`flask setup`:
# db upgrade, catalogue load, users demo, classifier ensure), so the app is imported once.
setup: $(VENV)/.installed $(MO_FILES)
	$(BIN)/flask setup

# The checks of `make lint` first, then bandit (offline; accepted findings are listed in
# bandit.yaml): any finding fails the target.
test: lint $(MO_FILES)
	$(BIN)/bandit -c bandit.yaml -r feedback_app classifier config.py wsgi.py -q
	@test -x "$${CHROMIUM_PATH:-/usr/bin/chromium}" || echo "NOTE: the browser suite (tests/browser) will be skipped: no Chromium at $${CHROMIUM_PATH:-/usr/bin/chromium} (apt-get install chromium)"
	$(BIN)/python -m pytest $(PYTEST_XDIST) $(PYTEST_ARGS)

# The quick loop: unit and SQLite tests (no PostgreSQL, no browser, nothing marked slow), on
# $(PYTEST_WORKERS) processes, with a quarter of the hypothesis examples. Under 3 minutes here.
test-quick: $(VENV)/.installed $(MO_FILES)
	$(BIN)/python -m pytest $(PYTEST_XDIST) --hypothesis-profile=quick \
		-m "not postgresql and not browser and not slow" $(PYTEST_ARGS)

# Lint, format, the layout's import contracts and types (settings in pyproject.toml): ruff over
# the tree; lint-imports; mypy, strict, over the kernel, the text package and classifier/.
# `make test` runs all of them first.
lint: $(VENV)/.installed
	$(BIN)/ruff check --quiet .
	$(BIN)/ruff format --check --quiet .
	$(BIN)/lint-imports --no-logo --no-cache
	$(BIN)/mypy

bench: $(VENV)/.installed $(MO_FILES)
	$(BIN)/python -m bench

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

%.mo: %.po
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@

# For developers: refresh the catalogue of strings after changing templates or code.
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o feedback_app/translations/messages.pot .
	$(BIN)/pybabel update -i feedback_app/translations/messages.pot -d feedback_app/translations -l zh_Hant
	$(BIN)/flask i18n simplify

clean:
	rm -rf $(VENV) $(MO_FILES)
