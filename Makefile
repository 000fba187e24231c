# allot — the only commands a user needs. Each installs what it needs first (scripts/deps.sh).
#   make run     build allot (release) and start a server with a simulated fleet (.run/)
#   make test    build (debug, ASan + UBSan) and run every test, 14 API suites on PostgreSQL too
#                (tests/integration/suites_pg.sh); ends with "N passed, N failed"
#   make test-pg every integration suite that starts a server, on PostgreSQL (a throw-away
#                cluster); AL_PG_BROWSER=1 adds the dashboard's browser suites
#   make bench   build (release) and run the benchmarks (QUICK=1 for a short first look)
#   make install the binary, systemd units, example allot.conf and docs under $(DESTDIR)$(PREFIX)
#                (PREFIX=/usr/local; /etc is never written: docs/operations.md)
#   make deb     the Debian package build/allot_<version>_<arch>.deb (scripts/deb.sh)
# Checks for developers:
#   make lint      clang-format --dry-run, clang-tidy (.clang-tidy), cppcheck, banned functions;
#                  fails on findings (make test runs it too: tests/integration/lint.sh)
#   make valgrind  release build, every unit test program under valgrind memcheck
#   make fuzz      the libFuzzer targets, FUZZ_SECONDS (default 60) each; make test runs 12 s each
.PHONY: all run test test-pg bench build debug deps format lint valgrind fuzz clean install deb

PREFIX ?= /usr/local

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

# Only the allot binary: the tests and benchmarks are not needed to serve.
run:
	@scripts/deps.sh run
	@cmake --preset release >/dev/null
	@cmake --build --preset release --target allot
	@scripts/run.sh build/release/allot

# cmake --install honours DESTDIR from the environment (staged installs, packaging).
install:
	@scripts/deps.sh dist
	@cmake --preset release >/dev/null
	@cmake --build --preset release --target allot
	@DESTDIR="$(DESTDIR)" cmake --install build/release --prefix "$(PREFIX)"

# The Debian package, built with dpkg-deb from the same install (scripts/deb.sh).
deb:
	@scripts/deps.sh dist
	@scripts/deb.sh build

test: debug
	@scripts/run-tests.sh build/debug

# The integration suites with their servers on PostgreSQL (docs/postgres.md): one throw-away
# cluster, each server's database its own; ends with "N passed, N failed".
test-pg: debug
	@bash tests/integration/pg_run_lib.sh build/debug

bench:
	@scripts/deps.sh bench
	@cmake --preset release >/dev/null
	@cmake --build --preset release >&2
	@QUICK=$(QUICK) scripts/bench.sh build/release

format:
	@find src tests bench -name '*.[ch]' 2>/dev/null | xargs clang-format -i

lint:
	@scripts/deps.sh lint
	@scripts/lint.sh

valgrind: build
	@scripts/deps.sh valgrind
	@scripts/valgrind.sh build/release

fuzz:
	@scripts/deps.sh test
	@FUZZ_SECONDS=$${FUZZ_SECONDS:-60} bash tests/integration/fuzz.sh

clean:
	rm -rf build
