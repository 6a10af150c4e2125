# The README's two commands: `make quickstart` and `make test`.
SWIFT ?= swift
SCENARIO ?= scenarios/quickstart.yaml

.PHONY: setup build quickstart test bench clean

setup:
	@bash scripts/setup.sh

build: setup
	$(SWIFT) build -c release --product hybridsim

quickstart: build
	$(SWIFT) run -c release hybridsim run $(SCENARIO)

test: setup
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

bench: setup
	$(SWIFT) run -c release AnalyticBenchmark

clean:
	rm -rf .build
