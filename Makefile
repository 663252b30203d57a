# Steward's two commands: `make demo` (the main job) and `make test` (the whole suite).
# Both create the virtual environment from requirements.txt first; nothing is installed by hand.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VENV_PY := $(VENV)/bin/python
REQUIREMENTS_STAMP := $(VENV)/.installed-$(shell sha256sum requirements.txt | cut -c1-16)

.PHONY: demo stop test lint unit venv

demo: venv
	$(VENV_PY) -m deploy.demo run

stop: venv
	$(VENV_PY) -m deploy.demo stop

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
	$(VENV_PY) -c 'import pathlib, sysconfig; root = pathlib.Path.cwd(); \
	  pathlib.Path(sysconfig.get_paths()["purelib"], "steward-paths.pth").write_text(f"{root / "plugins"}\n{root}\n")'
	rm -f $(VENV)/.installed-*
	touch $@
