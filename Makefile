# Two commands on a fresh clone:
#   make demo   set up .venv, train the default model, evaluate it, score the sample articles
#   make test   set up .venv and run the whole test suite
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

CONFIG ?= configs/minilm.yaml
RUN    ?= runs/demo
OUT    ?= out

.PHONY: setup demo demo-quick test test-fast bench data-card clean

setup: $(VENV)/.installed

# torch first, pinned to the CPU build on this disk: an unpinned torch pulls a CUDA build of several GB
$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

# the quick TF-IDF run first (about a minute): a first result, and a second run for the compare notebook
demo-quick: setup
	$(BIN)/communique train configs/tfidf.yaml --out $(RUN)-tfidf --force
	$(BIN)/communique evaluate $(RUN)-tfidf --split test
	$(BIN)/communique score data/articles --model $(RUN)-tfidf --out $(OUT)/scores-tfidf.jsonl --force
	@echo "== quick demo finished: $(RUN)-tfidf, $(OUT)/scores-tfidf.jsonl =="

demo: demo-quick
	$(BIN)/communique train $(CONFIG) --out $(RUN) --force
	$(BIN)/communique evaluate $(RUN) --split test
	$(BIN)/communique score data/articles --model $(RUN) --out $(OUT)/scores.jsonl \
		--summary $(OUT)/summary.jsonl --force
	$(BIN)/communique dyads $(OUT)/scores.jsonl --metadata data/articles/metadata.csv --by month \
		--out $(OUT)/dyads.csv --force
	$(BIN)/communique report $(RUN) --scores $(OUT)/scores.jsonl --metadata data/articles/metadata.csv
	@echo
	@echo "== demo finished =="
	@echo "run directory:   $(RUN)  (config.yaml, env.json, model/, metrics.json, MODEL_CARD.md, train.log)"
	@echo "test evaluation: $(RUN)/eval/test  (metrics.json, report.txt, predictions.jsonl, confusion.png)"
	@echo "report:          $(RUN)/report"
	@echo "article scores:  $(OUT)/scores.jsonl   per-article summary: $(OUT)/summary.jsonl"
	@echo "who to whom:     $(OUT)/dyads.csv  (speaker, target, stance, count per month)"

test: setup
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow and not integration"

bench: setup
	$(PY) bench/segmentation.py
	$(PY) bench/score_throughput.py
	$(PY) bench/onnx_quantisation.py
	test -f runs/tfidf/model/model.json || $(BIN)/communique train configs/tfidf.yaml --out runs/tfidf --force
	$(PY) bench/memory.py --model runs/tfidf

data-card: setup
	$(PY) data/tools/make_data_card.py

clean:
	rm -rf $(VENV) runs out
