# Fresh machine: `make demo` sets up .venv and writes a video; `make test` sets up and runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PACKAGES := -e ".[dev,docs]" -e plugins/latentmotion-toyworld -e plugins/latentmotion-stylegan2 -e "plugins/latentmotion-biggan[test]" -e examples/custom-backend

.PHONY: demo test docs dist clean

$(STAMP): pyproject.toml plugins/latentmotion-toyworld/pyproject.toml plugins/latentmotion-stylegan2/pyproject.toml plugins/latentmotion-biggan/pyproject.toml examples/custom-backend/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet $(PACKAGES)
	touch $(STAMP)

demo: $(STAMP)
	mkdir -p outputs
	$(BIN)/latentmotion generate --output outputs/demo.mp4

test: $(STAMP)
	$(BIN)/python -m pytest -q
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir $(VENV)/site

# An sdist and a wheel of every package into dist/, checked as PyPI checks them.
DISTRIBUTIONS := . plugins/latentmotion-toyworld plugins/latentmotion-stylegan2 plugins/latentmotion-biggan examples/custom-backend
# scripts/check_release.py first refuses a dirty version (docs/contributing.md, Release).
dist: $(STAMP)
	$(BIN)/python scripts/check_release.py
	rm -rf dist
	for package in $(DISTRIBUTIONS); do $(BIN)/python -m build --no-isolation --outdir dist $$package || exit 1; done
	$(BIN)/twine check --strict dist/*

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

clean:
	rm -rf $(VENV) outputs site dist
