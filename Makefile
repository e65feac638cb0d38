# The two set-up commands of the README: `make run` and `make test`.
# `make install [PREFIX=/usr/local] [DESTDIR=]` puts the release binaries, the man pages, the shell
# completions, zkserver's systemd unit and an example zoo.cfg where the system looks for them;
# `make uninstall` removes exactly those files.
SWIFT ?= swift
PREFIX ?= /usr/local
DESTDIR ?=
# Where the binaries to install are; empty builds them in release mode first (tests point it at a build).
BINDIR_SRC ?=

PROGRAMS := zkcli zkserver zkbench
MAN_PAGES := zkcli.1 zkserver.1
COMPLETED := zkcli zkserver

bindir := $(DESTDIR)$(PREFIX)/bin
man1dir := $(DESTDIR)$(PREFIX)/share/man/man1
bashdir := $(DESTDIR)$(PREFIX)/share/bash-completion/completions
zshdir := $(DESTDIR)$(PREFIX)/share/zsh/site-functions
fishdir := $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
unitdir := $(DESTDIR)$(PREFIX)/lib/systemd/system
docdir := $(DESTDIR)$(PREFIX)/share/doc/zkserver

.PHONY: run test test-deps build deps release install uninstall fuzz fuzz-smoke tsan asan bench-quick oneshot-order static-libstdc++ \
	bench-deps

# What a fresh Debian machine with Swift lacks to build (libedit for the shell's line editing).
deps:
	@dpkg -s libedit-dev >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" -ne 0 ] && echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq libedit-dev; }

build: deps
	$(SWIFT) build

# Opens zkcli on the bundled server, started in zkcli's own process (nothing else to install or run).
run: deps
	$(SWIFT) build --product zkcli
	"$$($(SWIFT) build --show-bin-path)/zkcli" --embedded

# Everything the tests run that a fresh Debian machine with Swift lacks (Apache ZooKeeper, Java, shells,
# kazoo, ...), installed only when missing.
TEST_DEPS := zookeeper zookeeper-bin openjdk-17-jdk-headless:javac tmux:tmux netcat-openbsd:nc mandoc:mandoc \
	groff-base:groff man-db:man make:make zsh:zsh fish:fish jq:jq openssl:openssl python3-pip \
	systemd:systemd-analyze daemontools:supervise libcurator-recipes-java libcurator-framework-java \
	libcurator-client-java iptables iproute2 libkrb5-dev krb5-kdc krb5-admin-server krb5-user:kinit \
	prometheus:prometheus libservlet-api-java
test-deps: deps
	./scripts/install-test-deps $(TEST_DEPS)

# The shell tests run the zkcli executable, so it is built first. One test at a time: many tests run real
# servers (Apache ensembles, Curator and kazoo peers, a KDC) with short session timeouts, and all of them at
# once on a 2-core machine starve each other's sessions. A few seconds of each fuzz target end it.
test: test-deps
	$(SWIFT) build
	$(SWIFT) test --no-parallel
	$(MAKE) fuzz-smoke

# Coverage-guided fuzzing (libFuzzer with the address sanitizer) of the protocol decoders, the server core, the
# zoo.cfg parser, recovery from damaged files and the shell's tokenizer, each for FUZZ_SECONDS (or FUZZ_RUNS
# executions); the targets are the package in Fuzz/, see docs/fuzzing.md.
FUZZ_SECONDS ?= 60
FUZZ_RUNS ?=
# Processes per target at once, sharing its corpus (FUZZ_JOBS=2 uses both cores of a 2-core machine).
FUZZ_JOBS ?= 1
# Seconds one input may run before it counts as a hang (wall time: a campaign that may be paused wants more).
FUZZ_TIMEOUT ?= 20
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_JOBS=$(FUZZ_JOBS) FUZZ_TIMEOUT=$(FUZZ_TIMEOUT) \
		SWIFT=$(SWIFT) ./scripts/fuzz

fuzz-smoke: deps
	FUZZ_SECONDS=4 FUZZ_RUNS= FUZZ_JOBS=1 SWIFT=$(SWIFT) ./scripts/fuzz

# The whole suite under ThreadSanitizer or AddressSanitizer, each in a build directory of its own (the programs
# the tests run are built with the same sanitizer). SANITIZE_FILTER narrows it to some suites. Long: not part
# of `make test`; see docs/sanitizers.md for the last runs.
SANITIZE_FILTER ?=
tsan: test-deps
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan
	TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 $(TSAN_OPTIONS)" $(SWIFT) test --skip-build \
		--sanitize=thread --scratch-path .build-tsan --no-parallel $(if $(SANITIZE_FILTER),--filter '$(SANITIZE_FILTER)')

# ASan writes its reports to files (asan.PID in ASAN_REPORTS), the test process's and those of the programs the tests
# run alike: those programs' stderr goes where the test sends it, often nowhere. Any report fails the target.
ASAN_REPORTS := $(CURDIR)/.build-asan/reports
asan: test-deps
	$(SWIFT) build --build-tests --sanitize=address --scratch-path .build-asan
	rm -rf "$(ASAN_REPORTS)" && mkdir -p "$(ASAN_REPORTS)"
	@status=0; \
	ASAN_OPTIONS="detect_leaks=0 log_path=$(ASAN_REPORTS)/asan $(ASAN_OPTIONS)" $(SWIFT) test --skip-build \
		--sanitize=address --scratch-path .build-asan --no-parallel \
		$(if $(SANITIZE_FILTER),--filter '$(SANITIZE_FILTER)') || status=$$?; \
	if ls "$(ASAN_REPORTS)"/asan.* >/dev/null 2>&1; then \
		cat "$(ASAN_REPORTS)"/asan.*; echo "AddressSanitizer reports in $(ASAN_REPORTS)"; exit 1; fi; \
	exit $$status

# The Swift runtime is linked in, so that installed programs do not depend on the toolchain's libraries (and start
# faster: no shared Swift libraries to load). zkcli's release link flags are in Package.swift (BENCHMARKS.md, issue 17).
# Every Swift module, the dependencies' too, puts each function and global in a section of its own, so that zkcli's
# link can lay out together what a one-shot touches (scripts/zkcli-oneshot.order; the static Swift runtime comes
# built that way; the C a one-shot runs, NIO's shims, is a few kB). LLVM's function merging is off: a merged
# function leaves thunks in sections without a symbol, which no order file can name, and those were half of a
# one-shot's code page faults. (A flag change alone does not recompile: delete the *.swift.o first.)
RELEASE_FLAGS := -c release --static-swift-stdlib -Xswiftc -Xfrontend -Xswiftc -function-sections \
	-Xswiftc -Xfrontend -Xswiftc -disable-llvm-merge-functions-pass

# zkcli links libstdc++ (the Swift runtime's C++ library) statically when .build/static-libstdc++ holds it
# (Package.swift): the shared one, loaded and relocated at every start, was 2.2 MB of a one-shot's peak RSS. The
# directory holds only the archive, so that the link's -lstdc++ finds it before the shared library.
static-libstdc++:
	@for compiler in clang gcc; do \
		archive="$$($$compiler -print-file-name=libstdc++.a 2>/dev/null)"; \
		if [ -f "$$archive" ]; then mkdir -p .build/static-libstdc++ && ln -sf "$$archive" .build/static-libstdc++/; break; fi; \
	done

release: deps static-libstdc++
	$(SWIFT) build $(RELEASE_FLAGS)

install: $(if $(BINDIR_SRC),,release)
	@set -e; \
	source="$(BINDIR_SRC)"; \
	if [ -z "$$source" ]; then source="$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)"; fi; \
	install -d "$(bindir)" "$(man1dir)" "$(bashdir)" "$(zshdir)" "$(fishdir)" "$(unitdir)" "$(docdir)"; \
	for program in $(PROGRAMS); do install -m 755 "$$source/$$program" "$(bindir)/$$program"; done; \
	for page in $(MAN_PAGES); do install -m 644 "man/$$page" "$(man1dir)/$$page"; done; \
	for program in $(COMPLETED); do \
		install -m 644 "completions/$$program.bash" "$(bashdir)/$$program"; \
		install -m 644 "completions/_$$program" "$(zshdir)/_$$program"; \
		install -m 644 "completions/$$program.fish" "$(fishdir)/$$program.fish"; \
	done; \
	sed 's|@BINDIR@|$(PREFIX)/bin|g' dist/zkserver.service.in > "$(unitdir)/zkserver.service"; \
	chmod 644 "$(unitdir)/zkserver.service"; \
	install -m 644 dist/zoo.cfg "$(docdir)/zoo.cfg"; \
	echo "Installed $(PROGRAMS), their man pages and completions under $(DESTDIR)$(PREFIX)"

uninstall:
	rm -f $(foreach program,$(PROGRAMS),"$(bindir)/$(program)") \
		$(foreach page,$(MAN_PAGES),"$(man1dir)/$(page)") \
		$(foreach program,$(COMPLETED),"$(bashdir)/$(program)" "$(zshdir)/_$(program)" \
			"$(fishdir)/$(program).fish") \
		"$(unitdir)/zkserver.service" "$(docdir)/zoo.cfg"

# What benchmark/compare.py needs beyond the tests' peers (not a test dependency): matplotlib draws the scale
# section's plots in docs/ (`benchmark/compare.py --only scale`; without it the section skips the plots).
BENCH_DEPS := python3-matplotlib
bench-deps: test-deps
	./scripts/install-test-deps $(BENCH_DEPS)

# The headline ratios of BENCHMARKS.md in about a minute once built (one-shot zkcli vs Apache's C client, our
# client vs Apache's Java client, zkserver vs Apache), on the release build `make install` installs: for a look
# before and after a change to a hot path. Not part of `make test` (no test asserts a time).
bench-quick: release
	python3 benchmark/compare.py --headline --bin-path "$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)"

# zkcli's order of code and data for its release link, from valgrind profiles of one-shot commands against Apache
# ZooKeeper (scripts/oneshot-order): run after a change to what a one-shot runs, and commit
# scripts/zkcli-oneshot.order. A stale order costs page faults, never correctness.
oneshot-order: release
	./scripts/oneshot-order "$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/zkcli"
	rm -f "$$($(SWIFT) build $(RELEASE_FLAGS) --show-bin-path)/zkcli"  # relinked with the new order
	$(SWIFT) build $(RELEASE_FLAGS) --product zkcli
