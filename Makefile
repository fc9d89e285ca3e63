# Two commands on a fresh machine:  `make demo`  and  `make test`.
# Everything else is installed by these targets (system packages, .venv, Python packages).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export HARK_DATA ?= $(abspath ../shared/data)

.PHONY: help install system-deps demo test test-slow test-data bench bench-intent bench-audio bench-fuzz bench-load adapt-synthetic clean

help:  ## show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

system-deps:  ## apt packages (libportaudio2, espeak-ng) when missing
	@bash scripts/system-deps.sh

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: system-deps $(STAMP)  ## create .venv and install hark with test tools

demo: install  ## run the bundled text + n-best demo, printing skill actions
	$(BIN)/hark demo

test: install  ## the default test suite (fast; no data sets needed)
	$(BIN)/python -m pytest

test-slow: install  ## slow checks (marked slow)
	$(BIN)/python -m pytest -m slow

test-data: install  ## checks that need the public data sets in HARK_DATA
	$(BIN)/python -m pytest -m data

bench: install  ## benchmarks -> benchmarks/results/*.json (vad takes a few minutes; needs HARK_DATA for ESC-50)
	$(BIN)/python benchmarks/templates.py
	$(BIN)/python benchmarks/vad.py

bench-audio: install  ## speech end to end: espeak-ng voices -> VAD -> ASR -> intent (~15 min; ESC-50 noise needs HARK_DATA)
	$(BIN)/python benchmarks/audio.py --sentences 80 --oos 20
	$(BIN)/python benchmarks/g2p.py

.PHONY: bench-entity
bench-entity: install  ## entity resolution: SLURP ASR spans, spoken movie and book titles, 10k-1M scale (~1 h cold, decodes cached; needs HARK_DATA)
	$(BIN)/python benchmarks/entity.py --bench slurp
	$(BIN)/python benchmarks/entity_spoken.py --bench movies
	$(BIN)/python benchmarks/entity_spoken.py --bench books
	$(BIN)/python benchmarks/entity_scale.py

bench-intent: install  ## trained-tier benchmarks on SNIPS, ATIS, SLURP and the bundled skills (needs HARK_DATA)
	$(BIN)/python benchmarks/templates.py --tiers all
	$(BIN)/python benchmarks/intent.py --dataset snips
	$(BIN)/python benchmarks/intent.py --dataset atis
	$(BIN)/python benchmarks/intent_engine.py --dataset snips
	$(BIN)/python benchmarks/intent_engine.py --dataset atis
	$(BIN)/python benchmarks/slurp.py

bench-fuzz: install  ## fuzz parse, n-best, stream, WAV, skill files and the CLI -> benchmarks/results/fuzz.json (~10 min)
	$(BIN)/python benchmarks/fuzz.py --examples 2000 --cli 300 --seconds 600

bench-load: install  ## hark serve under load: parses/s, p99, real-time audio streams, RSS over a 10 min soak -> benchmarks/results/load.json (~15 min)
	$(BIN)/python benchmarks/load.py

.PHONY: bench-all
bench-all: install  ## every benchmark docs/benchmarks.md reports, one by one, then the doc rendered from the results (takes hours: ~3 h on 2 cores)
	$(BIN)/python benchmarks/run_all.py
	$(BIN)/python benchmarks/report.py

.PHONY: bench-lowbit
bench-lowbit: install  ## low-bit intent models: SNIPS fp32 -> 4/3/2-bit (rounded, plain QAT, squashed QAT) through Engine.parse -> benchmarks/results/lowbit.json (~2 h on 2 cores; needs HARK_DATA and .[train])
	$(BIN)/python -m pip install --quiet -e '.[train]'
	test -f build/snips4/model.pt || $(BIN)/python -m training.train_joint --dataset snips --out build/snips4 --epochs 8 --patience 3 --tokenizer $(TOKENIZER_6K) --lr 2e-4 --threads 2 --quiet
	for bits in 4 3 2; do for mode in ptq plain squash; do \
	    $(BIN)/python -m training.train_lowbit --dataset snips --build build/snips4 --bits $$bits --mode $$mode --threads 2 --quiet || exit 1; done; done
	$(BIN)/python benchmarks/lowbit.py --dataset snips --build build/snips4

# the 6,000-piece unigram tokenizer the ATIS and SLURP artifacts ship (SNIPS now ships the WordPiece one)
TOKENIZER_6K := benchmarks/artifacts/atis/model/tokenizer.model

.PHONY: snips-artifact
snips-artifact: install  ## rebuild benchmarks/artifacts/snips/model: two teachers, a distilled WordPiece student, 4-bit QAT, shipped on valid (~1 h on 2 cores; needs HARK_DATA and .[train])
	$(BIN)/python -m pip install --quiet -e '.[train]'
	test -f build/wp.model || $(BIN)/python -m training.wordpiece_vocab --out build/wp.model
	test -f build/snips4/model.pt || $(BIN)/python -m training.train_joint --dataset snips --out build/snips4 --epochs 8 --patience 3 --tokenizer $(TOKENIZER_6K) --lr 2e-4 --threads 2 --quiet
	test -f build/snips4wp/model.pt || $(BIN)/python -m training.train_joint --dataset snips --out build/snips4wp --epochs 8 --patience 3 --tokenizer build/wp.model --lr 2e-4 --threads 2 --quiet
	test -f build/snips4kd/model.pt || $(BIN)/python -m training.train_joint --dataset snips --out build/snips4kd --epochs 10 --patience 4 --tokenizer build/wp.model --teacher build/snips4/model.pt build/snips4wp/model.pt --lr 2e-4 --threads 2 --quiet
	for spec in "3 plain" "3 squash" "4 plain"; do set -- $$spec; \
	    $(BIN)/python -m training.train_lowbit --dataset snips --build build/snips4kd --bits $$1 --mode $$2 --threads 2 --quiet || exit 1; done
	$(BIN)/python -m training.train_lowbit --dataset snips --build build/snips4kd --ship-best build/snips4 build/snips4wp --ship benchmarks/artifacts/snips/model

.PHONY: slurp-artifact
slurp-artifact: install  ## rebuild benchmarks/artifacts/slurp/model: HWU64 + SLURP devel, 2/3/4-bit plain and squashed QAT (3 seeds of squashed 4 and 2), shipped on valid (~1 h on 2 cores; needs HARK_DATA and .[train])
	$(BIN)/python -m pip install --quiet -e '.[train]'
	test -f build/slurp4/model.pt || $(BIN)/python -m training.train_joint --dataset slurp --out build/slurp4 --layers 0,1,2,3 --epochs 8 --patience 3 --tokenizer $(TOKENIZER_6K) --lr 2e-4 --threads 2 --quiet
	for spec in "4 plain 13" "3 plain 13" "2 plain 13" "4 squash 13" "3 squash 13" "2 squash 13" "4 squash 1" "4 squash 2" "2 squash 1" "2 squash 2"; do set -- $$spec; \
	    $(BIN)/python -m training.train_lowbit --dataset slurp --build build/slurp4 --bits $$1 --mode $$2 --seed $$3 --threads 2 --quiet || exit 1; done
	$(BIN)/python -m training.train_lowbit --dataset slurp --build build/slurp4 --ship-best --ship benchmarks/artifacts/slurp/model

.PHONY: snips-ensemble
snips-ensemble: snips-artifact  ## rebuild benchmarks/artifacts/snips/model_ensemble: the best low-bit variant or pair of variants within 10 MB on valid, over the SNIPS builds (~3 h more on 2 cores; needs HARK_DATA and .[train])
	for bits in 4 3 2; do for mode in plain squash; do test -f build/snips4/model.$$mode$$bits.onnx || \
	    $(BIN)/python -m training.train_lowbit --dataset snips --build build/snips4 --bits $$bits --mode $$mode --threads 2 --quiet || exit 1; done; done
	for spec in "3 plain" "2 squash" "3 squash" "4 squash"; do set -- $$spec; test -f build/snips4wp/model.$$2$$1.onnx || \
	    $(BIN)/python -m training.train_lowbit --dataset snips --build build/snips4wp --bits $$1 --mode $$2 --threads 2 --quiet || exit 1; done
	$(BIN)/python -m training.ensemble --dataset snips --build build/snips4 --build build/snips4kd --build build/snips4wp --ship benchmarks/artifacts/snips/model_ensemble

.PHONY: bench-scene scene-model
bench-scene: install  ## scene context: held-out tagging, scenes, alerts, CPU -> benchmarks/results/scene.json + .svg (needs HARK_DATA)
	$(BIN)/python benchmarks/scene.py

scene-model: install  ## rebuild plugins/scene_context/model: tagger + alert detector (~45 min on 2 cores; needs HARK_DATA and .[train])
	$(BIN)/python -m pip install --quiet -e '.[train]'
	$(BIN)/python -m training.train_scene
	$(BIN)/python -m training.train_alerts

.PHONY: bench-tutor tutor-model tutor-ablation
bench-tutor: install  ## pronunciation tutor: synthetic MDD, real-speech prompt swaps, CPU -> benchmarks/results/tutor.json (needs HARK_DATA)
	$(BIN)/python benchmarks/tutor.py

tutor-model: install  ## rebuild plugins/tutor/model, the phone recognizer (~45 min on 2 cores; needs HARK_DATA and .[train])
	$(BIN)/python -m pip install --quiet -e '.[train]'
	$(BIN)/python -m training.train_phones

tutor-ablation: install  ## the L2-GEN ablation: phone models trained 4 ways x 2 seeds -> benchmarks/results/tutor_ablation.json (~3 h)
	$(BIN)/python -m pip install --quiet -e '.[train]'
	$(BIN)/python -m training.tutor_ablation --seeds 0,1

adapt-synthetic: install  ## rebuild plugins/asr_pocketsphinx/models/en-us-synthetic (MAP adaptation to espeak-ng voices, ~1 min)
	$(BIN)/python -m training.adapt_asr --espeak en-us+m4,en-us+f1,en-gb+m3,en-gb+m2,en-us+m6,en-us+f3,en-gb+m4,en-gb+f1 \
	    --per-voice 100 --out plugins/asr_pocketsphinx/models/en-us-synthetic

clean:  ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache build *.egg-info
