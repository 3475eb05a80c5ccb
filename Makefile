# The two commands of the README: `make run` and `make test`.
SHELL := /bin/bash
JOBS ?= $(shell nproc)
RELEASE := build/release
ASAN := build/asan
FUZZ := build/fuzz
BERTH := $(RELEASE)/src/daemon/berth
FUZZ_SECONDS ?= 20

.PHONY: all build run test unit integration asan fuzz fuzz-smoke bench clean deps deps-test

all: build

deps:
	@scripts/install-deps.sh build

deps-test:
	@scripts/install-deps.sh test

$(RELEASE)/build.ninja:
	cmake -S . -B $(RELEASE) -G Ninja -DCMAKE_BUILD_TYPE=Release

build: deps $(RELEASE)/build.ninja
	cmake --build $(RELEASE) -j $(JOBS)

# Builds, then runs the daemon in the foreground on its default socket.
run: build
	@if [ "$$(id -u)" = 0 ]; then sock=/run/berth/berth.sock; \
	  else sock=$${XDG_RUNTIME_DIR:?set XDG_RUNTIME_DIR}/berth/berth.sock; fi; \
	  echo; echo "Berth is starting. In another shell:"; echo; \
	  echo "    export DOCKER_HOST=unix://$$sock"; echo; \
	  exec $(BERTH) serve

# Every test: unit and integration tests under ASan+UBSan, a short fuzz run
# over the corpus, then unit and integration tests on the release build.
test: deps-test
	cmake -S . -B $(RELEASE) -G Ninja -DCMAKE_BUILD_TYPE=Release
	cmake --build $(RELEASE) -j $(JOBS)
	cmake -S . -B $(ASAN) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBERTH_SANITIZE=ON
	cmake --build $(ASAN) -j $(JOBS) --target berth_unit_tests berth
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBERTH_FUZZ=ON
	cmake --build $(FUZZ) -j $(JOBS)
	ctest --test-dir $(ASAN) --output-on-failure -L unit -j $(JOBS)
	FUZZ_SECONDS=$(FUZZ_SECONDS) ctest --test-dir $(FUZZ) --output-on-failure
	BERTH_BIN=$(abspath $(ASAN)/src/daemon/berth) ctest --test-dir $(ASAN) --output-on-failure -L integration
	BERTH_BIN=$(abspath $(BERTH)) ctest --test-dir $(RELEASE) --output-on-failure

unit: build
	ctest --test-dir $(RELEASE) --output-on-failure -L unit

integration: build
	BERTH_BIN=$(abspath $(BERTH)) ctest --test-dir $(RELEASE) --output-on-failure -L integration

# Longer fuzzing: make fuzz FUZZ_SECONDS=600
fuzz: deps-test
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBERTH_FUZZ=ON
	cmake --build $(FUZZ) -j $(JOBS)
	FUZZ_SECONDS=$(FUZZ_SECONDS) ctest --test-dir $(FUZZ) --output-on-failure

bench: build
	@scripts/install-deps.sh bench
	bench/api_bench.sh --berth $(abspath $(BERTH)) --loadgen $(abspath $(RELEASE)/bench/berth-loadgen)
	bench/pull_bench.py --berth $(abspath $(BERTH))
	bench/run_bench.py --berth $(abspath $(BERTH))
	bench/net_bench.py --berth $(abspath $(BERTH))

clean:
	rm -rf build
