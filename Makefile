# allot — the only commands a user needs. Each installs what it needs first (scripts/deps.sh).
#   make run     build (release) and start a server with a simulated fleet
#   make test    build (debug, ASan + UBSan) and run every test; ends with "N passed, N failed"
#   make bench   build (release) and run the benchmarks (QUICK=1 for a short first look)
.PHONY: all run test bench build debug deps format lint clean

all: build

deps:
	@scripts/deps.sh build

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release

debug:
	@scripts/deps.sh test
	@cmake --preset debug >/dev/null
	@cmake --build --preset debug

run: build
	@scripts/run.sh build/release/allot

test: debug
	@scripts/run-tests.sh build/debug

bench:
	@scripts/deps.sh bench
	@cmake --preset release >/dev/null
	@cmake --build --preset release >&2
	@QUICK=$(QUICK) scripts/bench.sh build/release

format:
	@find src tests bench -name '*.[ch]' | xargs clang-format -i

lint:
	@find src tests bench -name '*.[ch]' | xargs clang-format --dry-run --Werror
	@cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --std=c11 -I src --suppress=missingIncludeSystem src

clean:
	rm -rf build
