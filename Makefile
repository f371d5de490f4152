# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin
PLUGINS := $(wildcard plugins/*/pyproject.toml)
STAMP := $(VENV)/.installed

.PHONY: install test demo bench clean

# CPU torch first: otherwise pip resolves `torch` to a multi-GB CUDA build.
# A GPU user picks their own: make install TORCH_SPEC="torch==2.13.0 --index-url ..."
$(STAMP): pyproject.toml $(PLUGINS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet -e ".[dev]" $(foreach p,$(PLUGINS),-e "$(dir $(p))[dev]")
	touch $@

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest tests $(wildcard plugins/*/tests)

demo: $(STAMP)
	$(BIN)/forensicloc demo

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build dist *.egg-info
