# exactly — the two commands a new machine needs are `make run` and `make test`.
# Both install what is missing (Debian packages, via scripts/install_deps.sh) first.

BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
ifdef CI
CMAKE_FLAGS += -DEXACTLY_WERROR=ON
endif

.PHONY: all deps build run test unit integration clients examples tidy asan fuzz bench bench-quick soak clean console

all: build

deps:
	@bash scripts/install_deps.sh

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# Rebuilds the web console's page (console/dist, committed and built into
# the binary) from its sources with esbuild and uPlot from npm.
console:
	cd console && npm ci --no-audit --no-fund --loglevel=error && npm run build

# Starts the server in the foreground on 127.0.0.1:7379 with its data in ./data.
run: build
	./$(BUILD)/exactly serve --dir data

# Every test: style, unit and simulation tests (ctest), sanitizer build of the unit
# tests, then the real binary against redis-cli and python3-redis.
test: build tidy
	cd $(BUILD) && ctest -j $(JOBS) --output-on-failure --timeout 600
	$(MAKE) asan
	EXACTLY_BINARY=$(BUILD)/exactly bash tests/integration/run_all.sh
	$(MAKE) clients
	$(MAKE) examples

# The five incidents as runnable systems: each naive mode must be caught by
# `exactly race`, each exactly mode must hold in every round.
examples: build
	@if [ -f examples/run_all.sh ]; then EXACTLY_BINARY=$(BUILD)/exactly bash examples/run_all.sh; \
	else echo "examples: none yet"; fi

unit: build
	cd $(BUILD) && ctest -j $(JOBS) --output-on-failure --timeout 600

integration: build
	EXACTLY_BINARY=$(BUILD)/exactly bash tests/integration/run_all.sh

# The Python and TypeScript client libraries, each against the real server.
clients: build
	EXACTLY_BINARY=$(BUILD)/exactly bash clients/run_tests.sh

tidy:
	@bash scripts/tidy.sh

# Unit and simulation tests under AddressSanitizer + UndefinedBehaviorSanitizer.
asan: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DEXACTLY_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build build-asan -j $(JOBS) --target core_test storage_test net_test http_test sim_test
	set -e; for t in core storage net http sim; do echo "asan: $${t}_test"; \
	  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 build-asan/tests/$${t}_test --gtest_brief=1; done

# libFuzzer targets, 60 s each by default (FUZZ_SECONDS=...).
fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DEXACTLY_FUZZ=ON
	cmake --build build-fuzz -j $(JOBS)
	bash tests/fuzz/run.sh build-fuzz $${FUZZ_SECONDS:-60}

# exactly beside Redis, PostgreSQL and a null server, same load: server CPU per request,
# ops/s and latency, RSS per record, restart time (docs/benchmarks.md; ~15 min); then
# the release spread of exactly race (bench/race_spread.sh, docs/race.md).
bench: build
	bash bench/run.sh
	bash bench/race_spread.sh

# The same harness with short runs (a minute or two): checks it works, measures little.
bench-quick: build
	bash bench/run.sh --quick

# Long runs kept out of `make test`: many crash cycles, power loss over 1,000
# seeds, EIO at every sync index of a run, 200 replication fault cycles, long fuzzing.
soak: build
	EXACTLY_BINARY=$(BUILD)/exactly EXACTLY_CRASH_CYCLES=200 python3 -m unittest -v tests/integration/test_crash.py
	EXACTLY_BINARY=$(BUILD)/exactly EXACTLY_POWERLOSS_SEEDS=$${EXACTLY_POWERLOSS_SEEDS:-1000} \
	  python3 -m unittest -v tests/integration/test_power_loss.py
	EXACTLY_BINARY=$(BUILD)/exactly EXACTLY_EIO_INDEXES=all \
	  python3 -m unittest -v tests.integration.test_storage_faults.StorageFaultTest.test_eio_at_sync_indexes
	EXACTLY_BINARY=$(BUILD)/exactly EXACTLY_REPL_CYCLES=$${EXACTLY_REPL_CYCLES:-200} python3 -m unittest -v \
	  tests.integration.test_replication_faults.ReplicationFaultSweepTest.test_fault_sweep_keeps_every_acknowledged_operation
	$(MAKE) fuzz FUZZ_SECONDS=600

clean:
	rm -rf $(BUILD) build-asan build-fuzz
