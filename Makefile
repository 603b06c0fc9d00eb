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

.PHONY: all deps build run test asan bench soak fuzz clean install uninstall

PREFIX  ?= /usr/local
DESTDIR ?=

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

# $(call configure,DIR,ARGS): cmake's configure step for DIR, run when DIR
# has no cache yet or was last configured with other ARGS (kept in
# DIR/make-configure.args), so that a later WERROR=ON or CMAKE_ARGS takes
# effect. Otherwise the build's own check reconfigures after a CMakeLists.txt
# changes. (An option dropped from CMAKE_ARGS keeps its cached value.)
define configure
@args='$(subst ','\'',$(2))'; \
if [ ! -f $(1)/CMakeCache.txt ] || [ "$$(cat $(1)/make-configure.args 2>/dev/null)" != "$$args" ]; then \
  echo "cmake -S . -B $(1) $$args"; \
  rm -f $(1)/make-configure.args; \
  cmake -S . -B $(1) $(2) && \
  printf '%s\n' "$$args" >$(1)/make-configure.args; \
fi
endef

BUILD_ARGS := -DCMAKE_BUILD_TYPE=Release -DEVTOOL_WERROR=$(WERROR) $(CMAKE_ARGS)
ASAN_ARGS  := -DCMAKE_BUILD_TYPE=Debug -DEVTOOL_SANITIZE=ON -DEVTOOL_BENCH=OFF -DEVTOOL_WERROR=$(WERROR) $(CMAKE_ARGS)

build: deps
	$(call configure,$(BUILD),$(BUILD_ARGS))
	cmake --build $(BUILD) -j$(JOBS)

# Serves the bundled example site on http://localhost:8080/ until Ctrl-C.
run: build
	$(BUILD)/evtool http serve examples/www --port $(or $(PORT),8080) --echo /echo

test: build asan
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# Every test again (unit tests per backend, CLI suites) on an evtool built
# with AddressSanitizer + UndefinedBehaviorSanitizer; leaks are errors too.
asan: deps
	$(call configure,$(ASAN_BUILD),$(ASAN_ARGS))
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j$(JOBS)

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

# Each server under 200,000 short connections (and keep-alive HTTP requests,
# UDP queries): no failed request, descriptors and memory back to their
# baseline afterwards (tests/bench/README.md, "soak"). SOAK_* variables
# from the environment size it.
soak: build
	cmake --build $(BUILD) -j$(JOBS) --target soak
	$(BUILD)/tests/bench/run_soak.sh $(BUILD)

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

# Installs $(BUILD)/evtool (built first if missing), the man page and the
# bash, zsh and fish completions under $(DESTDIR)$(PREFIX); the list of
# installed files (without DESTDIR) goes to $(BUILD)/install_manifest.txt,
# which uninstall reads: give it the same DESTDIR.
install:
	@[ -x $(BUILD)/evtool ] || $(MAKE) build
	DESTDIR='$(DESTDIR)' cmake --install $(BUILD) --prefix '$(PREFIX)'

uninstall:
	@[ -f $(BUILD)/install_manifest.txt ] || { echo "no $(BUILD)/install_manifest.txt: run make install first"; exit 1; }
	sed 's|^|$(DESTDIR)|' $(BUILD)/install_manifest.txt | xargs -d '\n' rm -fv

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
