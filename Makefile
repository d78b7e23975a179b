# newswatch — every target works on a fresh machine with only Python 3.11.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CHROMIUM_FLAGS := --headless --no-sandbox --disable-gpu --disable-background-networking \
                  --disable-component-update --no-first-run --disable-sync

.PHONY: install demo test bench lint browser screenshot clean scale-demo

install: $(STAMP)

# Re-install only when the project metadata changes (idempotent).
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: install
	$(BIN)/newswatch demo

# Debian's chromium for the browser test of the HTML briefing (skipped if it cannot be installed).
browser:
	@command -v chromium >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	  echo "chromium could not be installed: the browser test will be skipped"

test: install browser
	$(BIN)/python -m pytest -q

bench: install peers
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/run_all.py

# The peers' extractors (news-please, newspaper4k) for bench/peers.py, in their own venv:
# they pin scrapy and friends, which must not touch the project's venv. The old pip crashes on
# lxml[html-clean] ("Candidate is not for this requirement"): upgrade it first.
.PHONY: peers
peers: bench/.peers-venv/.installed

bench/.peers-venv/.installed: bench/peers-requirements.txt
	@test -x bench/.peers-venv/bin/python || $(PYTHON) -m venv bench/.peers-venv
	bench/.peers-venv/bin/python -m pip install --quiet --upgrade pip
	bench/.peers-venv/bin/python -m pip install --quiet -r bench/peers-requirements.txt
	@touch $@

# PostgreSQL (apt-installed if missing) + Prefect server + 2 workers + a sharded pass into DuckLake.
scale-demo: install
	$(BIN)/python -m flows.scale_demo

lint: install
	$(BIN)/ruff check .

# Regenerates docs/briefing.png (the README's screenshot) from the demo warehouse.
screenshot: install browser
	$(BIN)/newswatch demo > /dev/null
	chromium $(CHROMIUM_FLAGS) --user-data-dir=$$(mktemp -d) --window-size=1300,2200 \
	  --virtual-time-budget=10000 --screenshot=docs/briefing.png file://$(CURDIR)/data/demo-briefing.html

clean:
	rm -rf $(VENV) data .pytest_cache
