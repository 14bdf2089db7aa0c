# The two commands: `make demo` and `make test`. Everything they need is installed from here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)

FRONTEND_SOURCES := $(shell find frontend/src frontend/app frontend/console frontend/public -type f 2>/dev/null) frontend/package-lock.json frontend/vite.config.ts frontend/tsconfig.json
FRONTEND_BUILT := frontend/dist/.built

.PHONY: demo test lint format bench install clean serve frontend browser system-packages lock screenshots api-types

# constraints.txt pins every transitive Python package; `make lock` refreshes it.
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP) system-packages

# Debian's Pango, which WeasyPrint prints the transparency report's PDF with, and a CJK font
# for its Chinese pages.
system-packages:
	@{ ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 && fc-list 2>/dev/null | grep -qi wenquanyi; } || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 \
	      fonts-wqy-microhei; \
	  else echo "install Debian's libpango-1.0-0, libpangoft2-1.0-0 and fonts-wqy-microhei for the PDF reports" >&2; fi; }

# The citizen app and staff console, built from npm packages pinned in package-lock.json.
$(FRONTEND_BUILT): $(FRONTEND_SOURCES)
	cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run build
	touch $(FRONTEND_BUILT)

frontend: $(FRONTEND_BUILT)

# The front ends' API types (frontend/src/shared/api-types.ts), generated from the OpenAPI
# document by the pinned openapi-typescript. Commit the result: tests/app/test_api_types.py fails
# when it is stale.
api-types: $(STAMP)
	test -x frontend/node_modules/.bin/openapi-typescript || \
	  (cd frontend && npm ci --no-audit --no-fund --loglevel=error)
	$(BIN)/python scripts/api_types.py

# Debian's Chromium (never Playwright's own download) and a CJK font for the zh-CN screens.
browser:
	@{ command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi wenquanyi; } || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei; \
	  else echo "install Debian's chromium and fonts-wqy-microhei for the browser tests" >&2; fi; }

demo: $(STAMP) $(FRONTEND_BUILT) system-packages
	$(BIN)/cityloop demo --data-dir var --port 8000

serve: $(STAMP)
	$(BIN)/cityloop serve --data-dir var

# Line coverage comes with it ([tool.coverage] in pyproject.toml).
test: $(STAMP) $(FRONTEND_BUILT) browser system-packages
	$(BIN)/python -m pytest -n 2 -q --cov=cityloop --cov-report=term:skip-covered

# ruff, then the import contracts (pyproject's [tool.importlinter]): the layers stay true.
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/lint-imports --no-cache

format: $(STAMP)
	$(BIN)/ruff check --fix src tests benchmarks scripts
	$(BIN)/ruff format src tests benchmarks scripts

# Each script writes its result file under benchmarks/results/ (committed); the last step
# regenerates docs/performance.md's tables from them. scale.py grows a database from 10 k to
# SCALE_CASES cases: `make bench SCALE_CASES=10k,1M SCALE_READINGS=50` is the full size.
SCALE_CASES ?= 10k,100k
SCALE_READINGS ?= 2
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py --client raw
	$(BIN)/python benchmarks/run_all.py --database postgresql --client raw
	$(BIN)/python benchmarks/perception.py
	PYTHONPATH=src $(BIN)/python benchmarks/ngsild_query.py
	PYTHONPATH=src $(BIN)/python benchmarks/ngsild_temporal.py
	PYTHONPATH=src $(BIN)/python benchmarks/ngsild_temporal_filters.py
	$(BIN)/python benchmarks/guards.py
	PYTHONPATH=src $(BIN)/python benchmarks/nats_relay.py
	$(BIN)/python benchmarks/services.py
	$(BIN)/python benchmarks/datalog.py
	$(BIN)/python benchmarks/ckan.py
	$(BIN)/python benchmarks/first_load.py
	$(BIN)/python benchmarks/operations_kpis.py
	$(BIN)/python benchmarks/vitals.py
	$(BIN)/python benchmarks/transparency.py
	$(BIN)/python benchmarks/ops_map.py
	$(BIN)/python benchmarks/service_figures.py
	PYTHONPATH=src $(BIN)/python benchmarks/scale.py --cases $(SCALE_CASES) --readings-per-case $(SCALE_READINGS)
	$(BIN)/python benchmarks/tables.py

# Refresh the README's screenshots from the last browser-test run (test-output/screenshots).
screenshots:
	cp $(addprefix test-output/screenshots/,$(notdir $(wildcard docs/screenshots/*.png))) docs/screenshots/

lock: $(STAMP)
	$(BIN)/pip freeze --exclude-editable > constraints.txt

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache frontend/dist frontend/node_modules
