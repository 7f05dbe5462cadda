# Every command a user types is a target here. Only python3 (3.11+) and make are assumed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.synced-compiled-from-lock

.PHONY: demo test test-fast browser airflow airflow-stop stop publish portal lint format bench clean psql rollback docs template status review explain check-history backup restore chaos report office

# Compiled to bytecode as installed: Python would otherwise compile dbt, Great Expectations and Airflow from
# source in every process where it may not write __pycache__ (PYTHONDONTWRITEBYTECODE, a read-only venv):
# importing them took 17 + 8 + 8 s of CPU per process instead of 6 + 4 + 3. (The stamp's name changed with
# it, so a venv synced before is synced, and compiled, once more.)
$(STAMP): pyproject.toml uv.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(BIN)/uv || $(BIN)/python -m pip install --quiet uv==0.13.8
	UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync --frozen --quiet --compile-bytecode
	touch $@

demo: $(STAMP)
	$(BIN)/python -m warehouse.demo

# Two workers (pytest-xdist), each with its own embedded Postgres; a module stays whole and in order on one.
test: $(STAMP) browser office
	$(BIN)/python -m pytest -n 2 --dist loadfile

# The same but the end-to-end runs, the browser, the chaos rounds and the slow suites (make test runs them all)
test-fast: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "not e2e and not browser and not chaos and not slow"

# kill -9 in ingest, dbt, the gate and the publish, Postgres stopped, a full disk: five rounds at random moments
chaos: $(STAMP)
	ANTQ_CHAOS_ROUNDS=$${ANTQ_CHAOS_ROUNDS:-5} $(BIN)/python -m pytest tests/test_chaos.py

# The portal's browser tests drive Debian's Chromium through its ChromeDriver: installed here when this is
# root on Debian or Ubuntu; otherwise said plainly (those tests are then skipped, naming what is missing).
BROWSER_PACKAGES := chromium chromium-driver
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing $(BROWSER_PACKAGES) for the browser tests (apt-get)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null \
		|| { apt-get update -qq && apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null; } \
		|| echo "MISSING: could not install $(BROWSER_PACKAGES); the browser tests will be skipped"; \
	else \
		echo "MISSING: chromium and chromedriver (as root: apt-get install $(BROWSER_PACKAGES));" \
			"the browser tests will be skipped"; \
	fi

# The reports' PDFs are LibreOffice's (headless Writer): installed here when this is root on Debian or Ubuntu;
# otherwise said plainly (a report is then written as DOCX and annex without its PDF; the PDF test is skipped).
OFFICE_PACKAGES := libreoffice-writer-nogui
office:
	@if command -v soffice >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing $(OFFICE_PACKAGES) for the reports' PDFs (apt-get)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -qq $(OFFICE_PACKAGES) >/dev/null \
		|| { apt-get update -qq && apt-get install -y -qq $(OFFICE_PACKAGES) >/dev/null; } \
		|| echo "MISSING: could not install $(OFFICE_PACKAGES); reports will have no PDF, and its test is skipped"; \
	else \
		echo "MISSING: LibreOffice (as root: apt-get install $(OFFICE_PACKAGES)); reports will have no PDF," \
			"and its test is skipped"; \
	fi

# make report PERIOD=2026-Q3 [PROVINCE=38] [OUT=folder]: the report of a period from the published figures, national
# or of one province as its analysts see it: DOCX, its PDF and the annex XLSX, under .data/reports by default
report: $(STAMP) office
	$(BIN)/python -m reports "$(PERIOD)" $(if $(PROVINCE),--province "$(PROVINCE)") $(if $(OUT),--out "$(OUT)")

# Airflow's services on this machine (UI and REST API at http://localhost:8080, login printed); running it
# twice starts nothing more. The embedded Postgres stays up while they run.
airflow: $(STAMP)
	$(BIN)/python -m warehouse.services start

airflow-stop: $(STAMP)
	$(BIN)/python -m warehouse.services stop

# publish now what waits (the antq_publish DAG's steps in one process): after a backfill, a confirm or a reject
publish: $(STAMP)
	$(BIN)/python -m warehouse publish

# ends what this checkout started: Airflow's services, the portal and the embedded Postgres (never another server)
stop: $(STAMP)
	$(BIN)/python -m warehouse.services stop-everything

# the submission portal at http://localhost:8000; accounts: python -m portal account LOGIN [--province 38]
portal: $(STAMP)
	$(BIN)/python -m portal

# make bench [SCALE=small|medium|national-10y]: every step's cost into bench/results.json; ONLY=deadline measures
# only deadline day (the ways in with Airflow and the portal running, the load, the agreement) on the warehouse an
# earlier run of that scale left
SCALE ?= small
bench: $(STAMP)
	$(BIN)/python -m bench.run --scale $(SCALE) $(if $(ONLY),--only $(ONLY))

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd dbt_project && ../$(BIN)/sqlfluff lint models

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	cd dbt_project && ../$(BIN)/sqlfluff fix models

psql: $(STAMP)
	$(BIN)/python -m warehouse psql

# make backup (into .data/backups/<time>) or make backup BACKUP=/somewhere/new ; make restore BACKUP=/that/folder
# (into an empty database: ANTQ_WAREHOUSE_URL, or the embedded one of a new ANTQ_DATA_DIR)
BACKUP ?= .data/backups/$(shell date +%Y%m%d-%H%M%S)
backup: $(STAMP)
	$(BIN)/python -m warehouse backup "$(BACKUP)"

restore: $(STAMP)
	$(BIN)/python -m warehouse restore "$(BACKUP)"

clean:
	rm -rf .data dbt_project/target dbt_project/logs site

rollback: $(STAMP)
	$(BIN)/python -m warehouse rollback

# the dbt tests over the whole fact store (also run monthly by the antq_reference_refresh DAG)
check-history: $(STAMP)
	$(BIN)/python -m warehouse check-history

# One offline site under site/ (open site/index.html; mkdocs.yml): the README, the guides in docs/ by audience,
# and dbt's documentation of every model at site/dbt/index.html. That part needs no database, so the site builds
# on a fresh clone: `dbt parse`, then `dbt docs generate --no-compile --empty-catalog --static` (docs/hooks/site.py;
# without compiled SQL or column types, which need the warehouse: `python -m warehouse docs` makes that fuller
# dbt site under .data/dbt/target from a running one).
docs: $(STAMP)
	$(BIN)/mkdocs build --strict --clean

# make template PROVINCE=38 PERIOD=2026-Q3 (both optional): the XLSX a province fills in
template: $(STAMP)
	$(BIN)/python -m ingestion.template $(PROVINCE) $(PERIOD)

# make status FILE=38_2026-Q3 : every version of a file, its status and the reasons it was refused
# make status : the submissions held for review
status: $(STAMP)
	$(BIN)/python -m warehouse status "$(FILE)"

# make explain PROVINCE=38 PERIOD=2024 INDICATOR=security_teams [CATEGORY=...]: what a published figure is made of
explain: $(STAMP)
	$(BIN)/python -m warehouse explain "$(PROVINCE)" "$(PERIOD)" "$(INDICATOR)" $(CATEGORY)

# every hold and its review; then python -m warehouse confirm|reject ID --reason "..."
review: $(STAMP)
	$(BIN)/python -m warehouse review
