# The two set-up commands of the README: `make run` and `make test`.
SWIFT ?= swift
PREFIX ?= /usr/local

.PHONY: run test build deps

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

# The shell tests run the zkcli executable, so it is built first.
test: deps
	$(SWIFT) build
	$(SWIFT) test
