# The README's two commands: `make quickstart` and `make test`.
SWIFT ?= swift
# One OpenBLAS thread: the real executor's lanes are threads of their own (see Sources/hybridsim/main.swift).
export OPENBLAS_NUM_THREADS = 1
SCENARIO ?= scenarios/quickstart.yaml

.PHONY: setup build quickstart test test-asan test-tsan fuzz bench clean

setup:
	@bash scripts/setup.sh

build: setup
	$(SWIFT) build -c release --product hybridsim

quickstart: build
	$(SWIFT) run -c release hybridsim run $(SCENARIO)

# The tests: Swift suites (notebook fixtures validated with nbformat from .venv-notebooks), then the
# notebook export end to end: quickstart -> export notebook -> nbformat validation -> nbconvert execution.
test: setup
	@bash scripts/notebooks.sh --venv-only
	$(SWIFT) build --build-tests
	HYBRIDSIM_PYTHON=$(CURDIR)/.venv-notebooks/bin/python $(SWIFT) test --skip-build
	@bash scripts/notebooks.sh

# Sanitizers (separate build folders): every suite under AddressSanitizer and LeakSanitizer (suppressions with
# their reasons in .ci/lsan.supp); the concurrent parts (sweeps, the real executor and its worker pool, the
# engines' determinism, the CLI end to end) under ThreadSanitizer.
test-asan: setup
	@bash scripts/notebooks.sh --venv-only
	$(SWIFT) build --build-tests --sanitize=address --scratch-path .build/asan
	LSAN_OPTIONS=suppressions=$(CURDIR)/.ci/lsan.supp HYBRIDSIM_PYTHON=$(CURDIR)/.venv-notebooks/bin/python \
		$(SWIFT) test --skip-build --sanitize=address --scratch-path .build/asan

test-tsan: setup
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build/tsan
	TSAN_OPTIONS=halt_on_error=1 $(SWIFT) test --skip-build --sanitize=thread --scratch-path .build/tsan \
		--filter 'SweepsTests|CalibrationTests|DeterminismTests|EventEngine|RegressionCorpusTests|SweepCLITests'

# The fuzzing campaign (scripts/fuzz.sh): INPUTS mutated scenarios, sweeps, profiles and command lines of seed SEED;
# traps, hangs over 10 s and runs over 2 GB are saved to fuzz-findings/. CI runs a seeded slice (FuzzingTests).
INPUTS ?= 1000000
SEED ?= 1
fuzz: setup
	bash scripts/fuzz.sh $(INPUTS) $(SEED)

# Benchmarks: the analytic engine; the event engine beside SimPy (installed from PyPI into .venv-bench);
# the real kernels against this machine's measured FMA peak and bandwidth.
bench: setup .venv-bench/bin/python
	$(SWIFT) build -c release --product AnalyticBenchmark
	$(SWIFT) build -c release --product EventBenchmark
	$(SWIFT) build -c release --product KernelBenchmark
	$(SWIFT) run -c release AnalyticBenchmark
	HYBRIDSIM_PYTHON=$(CURDIR)/.venv-bench/bin/python $(SWIFT) run -c release EventBenchmark
	$(SWIFT) run -c release KernelBenchmark
	$(SWIFT) build -c release --product hybridsim
	@echo "sweep benchmark: 100,000 points of a 32-layer hybrid, 2 jobs, CSV included (target: under 10 s)"
	.build/release/hybridsim sweep Benchmarks/sweep/sweep-100k.yaml --out .build/sweep-benchmark --jobs 2

.venv-bench/bin/python:
	python3 -m venv .venv-bench
	.venv-bench/bin/pip install --quiet simpy==4.1.2

clean:
	rm -rf .build
