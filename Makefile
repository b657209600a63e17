# mmkg — two commands: `make demo` (the whole pipeline) and `make test` (the test suite).
# Both install what they need (venv, pinned Python deps, Neo4j jars) and start what they need.

PYTHON  ?= python3.11
VENV    := .venv
PY      := $(VENV)/bin/python
MMKG    := $(VENV)/bin/mmkg
STAMP   := $(VENV)/.installed

# `make test` runs its own Neo4j (ports 7688/7475, data in .mmkg/test) so that it never
# touches the demo database (7687/7474, data in .mmkg/neo4j). Override TEST_BOLT_PORT and
# TEST_HTTP_PORT to run two checkouts' suites side by side.
TEST_BOLT_PORT ?= 7688
TEST_HTTP_PORT ?= 7475
TEST_ENV := MMKG_HOME=$(CURDIR)/.mmkg/test MMKG_NEO4J_BOLT_PORT=$(TEST_BOLT_PORT) MMKG_NEO4J_HTTP_PORT=$(TEST_HTTP_PORT) \
            MMKG_NEO4J_HEAP=1g MMKG_NEO4J_PAGECACHE=1g

DEMO_DIR ?= .mmkg/demo

.PHONY: install system-deps browser-deps demo new-releases test neo4j stop clean

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "mmkg needs Python 3.11 ($(PYTHON)); set PYTHON=..." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

# Java 17 and Maven are needed once (Maven fetches the Neo4j jars from Maven Central).
system-deps:
	@command -v java >/dev/null && command -v mvn >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless maven; \
	  else echo "install Java 17 and Maven (e.g. apt-get install openjdk-17-jre-headless maven)" >&2; exit 1; fi; }

# Chromium and its driver, once, for the real-browser test (tests/test_browser.py): `make test`
# only, never `make demo`.
browser-deps:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq chromium chromium-driver; \
	  else echo "install Chromium and its driver (e.g. apt-get install chromium chromium-driver)" >&2; exit 1; fi; }

neo4j: install system-deps
	$(MMKG) db start
	$(MMKG) db init

DEMO_USER ?= u1

# The whole pipeline on a small synthetic catalog with real media (idempotent: safe to re-run).
# `mmkg train` trains on the tracks that have a listen (its default) and `mmkg publish` places
# the others (tracks nobody played) with the trained model: training would only ever push them
# down. The catalog also holds 20 new releases (catalog/new_releases, not ingested here):
# `make new-releases`.
demo: neo4j
	$(MMKG) sample-catalog $(DEMO_DIR)/catalog --tracks 300 --users 100 --seed 7 --new-releases 20 --force
	$(MMKG) ingest $(DEMO_DIR)/catalog --format catalog
	$(MMKG) train --config train/configs/demo.toml --out $(DEMO_DIR)/run --seed 7 --split-seed 7 --refit
	$(MMKG) publish $(DEMO_DIR)/run --keep 0
	$(MMKG) recommend $(DEMO_USER) --k 10 --explain
	$(MMKG) db status
	@echo
	@echo "Explore in Neo4j Browser: $$($(MMKG) db status | sed -n 's/^browser: *//p')  (user neo4j, password in .mmkg/neo4j-password)"
	@echo "The mmkg guide opens in the sidebar after you connect (:guide mmkg brings it back): six slides,"
	@echo "each with its parameters and queries, and a :style command that colours and captions every label."
	@echo "Next: make new-releases (20 tracks released after training: embedded without retraining, and recommended)."

# After the demo (run first when missing): 20 tracks released after training, with media and no
# listens, get vectors from the trained model (no retraining) and places in the listeners' top-K;
# DEMO_USER's best new releases are listed with their reasons (safe to re-run).
new-releases: neo4j
	@test -f $(DEMO_DIR)/run/embeddings.pt -a -d $(DEMO_DIR)/catalog/new_releases || $(MAKE) demo
	$(MMKG) ingest $(DEMO_DIR)/catalog/new_releases --format catalog
	$(MMKG) publish $(DEMO_DIR)/run --new-tracks
	$(MMKG) recommend $(DEMO_USER) --k 5 --new --explain

# The suite runs on an empty numba cache of its own, so that feature extraction is tested on the
# path of a user's first run (librosa's functions compiled, and cached, during the run).
test: install system-deps browser-deps
	$(TEST_ENV) $(MMKG) db start
	$(TEST_ENV) $(MMKG) db init
	numba_cache=$$(mktemp -d -t mmkg-numba-XXXXXX); \
	  $(TEST_ENV) NUMBA_CACHE_DIR=$$numba_cache $(PY) -m pytest; status=$$?; \
	  rm -rf $$numba_cache; $(TEST_ENV) $(MMKG) db stop; exit $$status

stop:
	-$(MMKG) db stop
	-$(TEST_ENV) $(MMKG) db stop

clean: stop
	rm -rf .mmkg $(VENV)
