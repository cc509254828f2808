# Two commands do all the set-up on a fresh machine (Python 3.11 + pip, no Hub access):
#   make demo   - the main job: train mBERT-Tiny on the embedded multilingual sample, write a loadable model folder
#   make test   - the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OFFLINE := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

.PHONY: setup browser demo test

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

# Debian's chromium for the browser tests (Playwright cannot download its own browser offline).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is not installed and this is not root: browser tests will be skipped (apt-get install chromium)"; fi; }

demo: setup
	$(OFFLINE) $(BIN)/python train.py --config configs/quickstart.yaml

test: setup browser
	$(OFFLINE) $(BIN)/python -m pytest
