# The two commands of the README: `make run` and `make test`.
# Both install missing Debian packages first (apt-get; sudo when not root).

BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
WERROR     ?= $(or $(EVTOOL_WERROR),OFF)
CMAKE_ARGS ?=

PACKAGES := g++ cmake make pkg-config ccache python3 \
            libcli11-dev nlohmann-json3-dev doctest-dev libssl-dev \
            libevent-dev libev-dev curl socat openssl bind9-dnsutils \
            man-db groff-base zsh fish dnsmasq-base

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps build run test unit asan bench fuzz clean

FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 30

all: build

deps:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DEVTOOL_WERROR=$(WERROR) $(CMAKE_ARGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

# Serves the bundled example site on http://localhost:8080/ until Ctrl-C.
run: build
	$(BUILD)/evtool http serve examples/www --port $(or $(PORT),8080) --echo /echo

test: build asan
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# The unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DEVTOOL_SANITIZE=ON \
	  -DEVTOOL_BENCH=OFF -DEVTOOL_WERROR=$(WERROR) $(CMAKE_ARGS) >/dev/null
	cmake --build $(ASAN_BUILD) -j$(JOBS) --target unit_tests
	cd $(ASAN_BUILD) && ctest --output-on-failure -j$(JOBS) -R '^unit\.'

# The packages column of tests/bench/benchmarks.list: peers and their tools.
BENCH_PACKAGES := $(sort $(shell sed -e '/^[[:space:]]*\#/d' -e '/^[[:space:]]*$$/d' tests/bench/benchmarks.list | cut -d'|' -f5))

bench: build
	@missing=""; for p in $(BENCH_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	cmake --build $(BUILD) -j$(JOBS) --target bench
	$(BUILD)/tests/bench/run_benchmarks.sh $(BUILD)

# Each libFuzzer target for FUZZ_SECONDS, from its seed corpus (clang).
fuzz: deps
	@dpkg-query -W -f='$${Status}' clang 2>/dev/null | grep -q 'ok installed' || \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends clang
	CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEVTOOL_BENCH=OFF \
	  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link,address,undefined" >/dev/null
	cmake --build $(FUZZ_BUILD) -j$(JOBS) --target fuzzers
	@for f in $(FUZZ_BUILD)/tests/fuzz/*_fuzz; do \
	  name=$$(basename $$f); mkdir -p $(FUZZ_BUILD)/corpus-$$name; \
	  echo "== $$name ($(FUZZ_SECONDS)s)"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) $(FUZZ_BUILD)/corpus-$$name tests/fuzz/corpus/$$name || exit 1; \
	done

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
