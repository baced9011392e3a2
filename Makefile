# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test venv bench clean lint system messages catalogs errors

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Lint, format and type checks first: `make test` is what CI runs.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Debian packages the suite runs for real (chromium, postgresql, redis-server), when missing.
system:
	bash scripts/system-packages.sh

# The suite waits more than it computes (sandboxes, subprocesses, rate-limit windows, browsers;
# 12 CPU-minutes in 18 wall-minutes on three workers): four pytest workers, each test file
# whole on one worker, keep both cores busy.
PYTEST_WORKERS ?= 4

test: $(STAMP) system lint
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile

demo: $(STAMP)
	$(PY) -m terminal.demo

# The dashboard's languages (docs/dashboard.md): `messages` extracts every string of web/
# into web/locale/messages.pot and merges it into each language's .po (translate the empty
# ones); `catalogs` compiles the .po files to the .mo files the dashboard reads (committed).
messages: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k N_ --no-location --omit-header --sort-output -o web/locale/messages.pot .
	$(VENV)/bin/pybabel update -i web/locale/messages.pot -d web/locale -D messages --width 100 --no-fuzzy-matching --ignore-obsolete

catalogs: $(STAMP)
	$(VENV)/bin/pybabel compile -d web/locale -D messages --statistics

# The `errors` domain: every code's title and fix from docs/errors.md into web/locale/errors.pot,
# merged into each language's errors.po (translate the empty ones), then compiled (committed).
errors: $(STAMP)
	$(PY) -m web.errortexts
	$(VENV)/bin/pybabel update -i web/locale/errors.pot -d web/locale -D errors --width 100 --no-fuzzy-matching --ignore-obsolete
	$(VENV)/bin/pybabel compile -d web/locale -D errors --statistics

bench: $(STAMP)
	for b in benchmarks/*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .joist build *.egg-info
