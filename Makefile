# Two commands a new user needs: `make benchmark` and `make test`.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
# torch and torchvision are pinned here (not in pyproject) so that pip takes the wheels that lie on
# the development machines' disk; pyproject only states the range the code works with.
TORCH   ?= torch==2.14.1 torchvision==0.29.1
JOBS    ?= 2
ITERS   ?=
BACKEND ?= local
ADDRESS ?=

.PHONY: recorded tables setup test wheel-check lint benchmark benchmark-smoke benchmark-paper benchmark-mixtures benchmark-mixtures-full \
	benchmark-stacked-mnist benchmark-stacked-mnist-paper classifiers perf perf-monitor monitor-demo \
	detector-false-alarms carracing-holdout benchmark-carracing small-d-probe clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: setup
	$(BIN)/python -m pytest tests

# The built sdist and wheel, installed with no extra into a fresh virtual environment outside the
# checkout, used from an empty folder (CI runs it; it adds about 2.5 minutes, most of it torch's install).
wheel-check: setup
	bash .ci/wheel-check

lint: setup
	$(BIN)/ruff check benchmark diagnostics baselines studies tests

# Each suite writes its run records under results/runs/NAME and its tables to results/tables/NAME.*;
# finished runs are skipped and interrupted ones resume, so a killed target can simply be rerun.
benchmark: setup
	$(BIN)/mcbench suite standard --jobs $(JOBS) --out results/runs/standard --tables results/tables $(if $(ITERS),--iters $(ITERS))
	@echo "report: results/reports/standard/index.html (static HTML; open it in a browser)"

# Regression gate: one mechanism check per variant (benchmark/gate/mitigations.toml) against
# results/baselines/mitigations.json; exits non-zero with one line per check whose rule fired.
# `make regress UPDATE=1` recalibrates the baseline on purpose (20 seeds per check and the gan reference).
.PHONY: regress
regress: setup
	$(BIN)/mcbench regress --jobs $(JOBS) $(if $(UPDATE),--update)

benchmark-smoke: setup
	$(BIN)/mcbench suite smoke --jobs $(JOBS) --out results/runs/smoke --tables results/tables

# The published protocols at full length, for a GPU (device auto) or a Ray cluster
# (BACKEND=ray ADDRESS=auto|HOST:PORT, with the results folder shared by every node): the paper suite
# (mixtures, 25,000 iterations, 5 seeds), then stacked-mnist-paper (MNIST_ROOT=DIR for full MNIST).
benchmark-paper: setup
	$(BIN)/mcbench suite paper --jobs $(JOBS) --backend $(BACKEND) $(if $(ADDRESS),--address $(ADDRESS)) \
		--out results/runs/paper --tables results/tables
	$(BIN)/mcbench suite stacked-mnist-paper --jobs 1 --backend $(BACKEND) $(if $(ADDRESS),--address $(ADDRESS)) \
		--out results/runs/stacked-mnist-paper --tables results/tables $(if $(MNIST_ROOT),--mnist-root $(MNIST_ROOT))

benchmark-mixtures: setup
	$(BIN)/mcbench suite mixtures --jobs $(JOBS) --out results/runs/mixtures --tables results/tables

# Image benchmarks. The mode classifiers are trained once and cached (~/.cache/mcbench or $MCBENCH_CACHE);
# `make classifiers` prints their held-out accuracy and writes results/classifiers.json.
classifiers: setup
	$(BIN)/mcbench classifiers $(if $(MNIST_ROOT),--mnist-root $(MNIST_ROOT))

# CarRacing: gan against feature matching and its hybrid, 3 seeds (measured: 10,868 run-seconds,
# 17-26 min a run on one core, 1 h 34 min on 2 cores), then every run's final samples scored for
# duplicates and FD in the clip classifier's feature space.
benchmark-carracing: setup
	$(BIN)/mcbench suite carracing-story --jobs $(JOBS) --out results/runs/carracing-story --tables results/tables
	$(BIN)/python -m studies.carracing_story --runs results/runs/carracing-story \
		--out results/carracing_story.json --table results/tables/carracing-story-diagnostics.md \
		--figure results/figures/carracing-story-samples.png

# The CarRacing classifier on contiguous time blocks of every clip and on frames after the 100th.
carracing-holdout: setup
	$(BIN)/python -m studies.carracing_holdout --folds 5 --later 50 --out results/carracing_holdout.json

# Stacked MNIST with D at 23 % of G's parameters (widths 32/48), 2,000 iterations, every 250th
# iteration's checkpoint kept and scored on 10,000 samples: modes, HQ % and modes with an HQ sample.
# Measured: 9,664 run-seconds, one thread each (gan about 225 s, WGAN-GP about 1,200 s, unrolled 3,749 s),
# 83 minutes on 2 cores; the scoring 4.5 minutes. The checkpoints (5 MB each) stay in results/runs.
SMALL_D_RUNS = "gan 0" "gan 1" "gan 2" "minibatch-discrimination 0" "minibatch-discrimination 1" \
	"minibatch-discrimination 2" "feature-matching-hybrid 0" "feature-matching-hybrid 1" "feature-matching-hybrid 2" \
	"pacgan 0 --set pack=4 --tag pack4" "pacgan 0 --set pack=2 --tag pack2" "wgan-gp 0" "wgan-gp 1" \
	"unrolled 0 --set unroll_steps=10 --tag u10"
small-d-probe: setup
	printf '%s\n' $(SMALL_D_RUNS) | xargs -P $(JOBS) -L 1 sh -c 'OMP_NUM_THREADS=1 $(BIN)/mcbench run \
		--dataset stacked-mnist --out results/runs/small-d-probe --keep-checkpoints --iters 2000 \
		--batch-size 64 --z-dim 100 --lr-d 2e-4 --lr-g 2e-4 --conv-width 32 --d-conv-width 48 \
		--eval-every 250 --ckpt-every 250 --variant "$$0" --seed "$$@"'
	$(BIN)/python -m studies.small_d_probe --runs results/runs/small-d-probe \
		--figure results/figures/stacked-mnist-small-d-probe.png

benchmark-stacked-mnist: setup
	$(BIN)/mcbench suite stacked-mnist --jobs $(JOBS) --out results/runs/stacked-mnist --tables results/tables

# Paper scale, for a machine with a GPU; MNIST_ROOT=DIR uses full MNIST from IDX files.
benchmark-stacked-mnist-paper: setup
	$(BIN)/mcbench suite stacked-mnist-paper --jobs 1 --out results/runs/stacked-mnist-paper \
		--tables results/tables $(if $(MNIST_ROOT),--mnist-root $(MNIST_ROOT))

benchmark-mixtures-full: setup
	$(BIN)/mcbench suite mixtures-full --jobs $(JOBS) --out results/runs/mixtures-full --tables results/tables

# Recorded suites (records = true; results/records/SUITE is kept in git). `make recorded` runs what
# is not recorded yet, recording each run as it finishes (commit results/records as they land);
# `make tables` rebuilds the tables, the learning curves and the report from the records alone.
SUITE ?= veegan-protocol
recorded: setup
	$(BIN)/mcbench suite $(SUITE) --jobs $(JOBS) --tables results/tables

tables: setup
	for f in md csv tex; do $(BIN)/mcbench table results/records/$(SUITE) --format $$f --out results/tables/$(SUITE).$$f || exit 1; done
	$(BIN)/mcbench table results/records/$(SUITE) --curves results/figures/$(SUITE) > /dev/null
	$(BIN)/mcbench report results/records/$(SUITE) --name $(SUITE) --tables results/tables

gate-power: setup
	$(BIN)/python -m benchmark.gate.power --reps 5 --reruns 20 --jobs $(JOBS) --work results/runs/gate-power --out results/gate_power.json

perf: setup
	$(BIN)/python -m benchmark.perf.training --iters 1000 --rounds 5 --threads 1 --out results/perf.json
	$(BIN)/python -m benchmark.perf.batched --iters 40 --rounds 3 --ks 1,5,10 --threads 1 --out results/perf_batched.json
	$(MAKE) perf-monitor

# The collapse monitor: its cost at the default interval, a real Lightning run healthy and with a
# fault (against the offline diagnostics on snapshots), and every detector's false-alarm rate.
perf-monitor: setup
	$(BIN)/python -m benchmark.perf.monitor --steps 500 --rounds 3 --threads 1 --out results/perf_monitor.json

monitor-demo: setup
	$(BIN)/python -m studies.monitor_demo --steps 3000 --every 100 --out results/monitor_demo

detector-false-alarms: setup
	$(BIN)/python -m studies.detector_false_alarms --seeds 400 --sample-seeds 50 --out results/detector_false_alarms.json

# The results pages under docs/results, generated from the committed records (no training).
.PHONY: docs
docs: setup
	$(BIN)/python -m studies.pages --out docs/results

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
