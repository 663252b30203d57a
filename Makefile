# Steward's two commands: `make demo` (the main job) and `make test` (the whole suite).
# Both create the virtual environment from requirements.txt first; nothing is installed by hand.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VENV_PY := $(VENV)/bin/python
REQUIREMENTS_STAMP := $(VENV)/.installed-$(shell sha256sum requirements.txt | cut -c1-16)

.PHONY: demo stop clean test lint unit venv

demo: venv
	$(VENV_PY) -m deploy.demo run

stop: venv
	$(VENV_PY) -m deploy.demo stop

# Stop the demo and forget its state: the local cluster (etcd data, volumes) and Airflow's home.
clean: venv
	$(VENV_PY) -m deploy.demo clean

test: venv lint
	$(VENV_PY) -m pytest

lint: venv
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

unit: venv
	$(VENV_PY) -m pytest tests/unit

venv: $(REQUIREMENTS_STAMP)

$(REQUIREMENTS_STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
	# Put plugins/ (the steward package) and the repository root (operators, sensors, deploy)
	# on the venv's sys.path, as Airflow does for its plugins folder.
	printf '%s\n%s\n' "$(CURDIR)/plugins" "$(CURDIR)" > "$$($(VENV_PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/steward-paths.pth"
	rm -f $(VENV)/.installed-*
	touch $@
