# `make repro` runs the pipeline, `make test` runs the tests; both set everything up first:
# the virtual environment in .venv (pinned packages) and the Fashion-MNIST data files.
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)

.PHONY: repro test test-fast check lint bench data browser clean

repro: $(VENV)/installed data
	dvc repro

test: $(VENV)/installed data browser
	pytest

# The unit tests alone: no end-to-end pipeline, no training process, no browser (about a minute).
test-fast: $(VENV)/installed data
	pytest -m "not e2e and not slow"

check: $(VENV)/installed
	python -m pipeline.analysis.gates

lint: $(VENV)/installed
	ruff check .
	ruff format --check .

# Benchmarks (machine-dependent, outside the pipeline): writes reports/performance.md.
# FULL=1 adds a from-scratch rebuild of the whole pipeline (about an hour more); ONLY="rebuild sweep"
# measures those sections again and keeps the others from the last report.
bench: $(VENV)/installed data
	python -m benchmarks.run $(if $(FULL),--full) $(if $(ONLY),--only $(ONLY))

$(VENV)/installed: requirements.txt requirements-test.txt constraints.txt
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		-r requirements.txt -r requirements-test.txt -c constraints.txt
	touch $@

# A verified local copy of Fashion-MNIST, or Debian's package where we may install it.
data: $(VENV)/installed
	@if python -m pipeline.data.sources; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		echo "Installing Debian's dataset-fashion-mnist"; \
		apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist; \
	else \
		echo "To get the data: sudo apt-get install dataset-fashion-mnist, or set FASHION_MNIST_DIR"; \
		echo "to a directory with the four .gz files; otherwise the download stage tries the official URLs."; \
	fi

# Headless Chromium, for tests/test_plots_page.py (the `dvc plots show` page, rendered offline) and
# tests/test_page_width.py (the front page at 1,012 px): Debian's package where we may install it.
browser:
	@if command -v chromium >/dev/null; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		echo "Installing Debian's chromium"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
		echo "tests/test_plots_page.py and tests/test_page_width.py need Chromium (skipped without it, failed if CI is set): sudo apt-get install chromium"; \
	fi

clean:
	rm -rf $(VENV)
