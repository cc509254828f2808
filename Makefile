# Two commands do all the set-up on a fresh machine (Python 3.11 + pip, no Hub access):
#   make demo   - the main job: train mBERT-Tiny on the embedded multilingual sample, write a loadable model folder
#                 (a new outputs/quickstart-<UTC time> on each run; earlier runs are never touched)
#   make test   - the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OFFLINE := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

.PHONY: setup system demo test

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

# Debian packages the tests drive: chromium (Playwright cannot download its own browser offline) and Open MPI
# (accelerate's CPU launcher starts its processes with mpirun).
system:
	@missing=""; command -v chromium >/dev/null 2>&1 || missing="chromium"; \
	command -v mpirun >/dev/null 2>&1 || missing="$$missing openmpi-bin"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "not root, so not installing:$$missing (apt-get install$$missing); the tests that need them skip"; fi; fi

demo: setup
	$(OFFLINE) $(BIN)/python train.py --config configs/quickstart.yaml --output_dir outputs/quickstart-$$(date -u +%Y%m%d-%H%M%S)

test: setup system
	$(OFFLINE) $(BIN)/python -m pytest
