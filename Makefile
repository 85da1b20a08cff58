# Two commands matter on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint format bench messages clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/port2port demo

test: $(STAMP)
	$(BIN)/port2port compilemessages
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/port2port manage makemigrations --check --dry-run

format: $(STAMP)
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

bench: $(STAMP)
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# Regenerates the nl, fr, de catalogues from the source (needs GNU gettext's xgettext).
messages: $(STAMP)
	cd src/port2port && ../../$(BIN)/port2port manage makemessages -l nl -l fr -l de --no-location
	$(BIN)/port2port compilemessages

clean:
	rm -rf $(VENV) var
