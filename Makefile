# publisher: two commands set up everything on a machine with only python3 and make.
#   make publish   build the site and send new newsletters (SQLite + Maildir outbox by default)
#   make test      the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: publish build test bench preview screenshots clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

publish: $(STAMP)
	$(BIN)/publisher publish

build: $(STAMP)
	$(BIN)/publisher build

preview: $(STAMP)
	$(BIN)/publisher preview

test: $(STAMP)
	@$(BIN)/python tests/browser_check.py
	@$(BIN)/python tests/mailserver_check.py
	@$(BIN)/python tests/postgres_cluster.py
	$(BIN)/python -m pytest

screenshots: $(STAMP)
	$(BIN)/python scripts/screenshots.py

bench: $(STAMP)
	$(BIN)/python bench/run.py --large $(BENCH_ARGS)

clean:
	rm -rf _site outbox .publisher-cache bench-results
