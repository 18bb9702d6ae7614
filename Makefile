# The two commands a newcomer needs are `make demo` and `make test`.
# Every other target is a step of those two.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export PATH := $(CURDIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

# The binaries `make demo` and the benchmarks start, built for release.
RELEASE_BINS := -p swarmcast-tracker -p swarmcast-origin -p swarmcast-testcard
# The binaries the Node and browser tests start: debug builds, which reuse what
# `cargo test` compiled (a release build of the native peer's WebRTC stack
# alone would take longer than all the tests). tests/support/servers.mjs
# reads SWARMCAST_BIN_DIR.
TEST_BINS := $(RELEASE_BINS) -p swarmcast-peer
test-node test-browser: export SWARMCAST_BIN_DIR := $(CURDIR)/target/debug

.PHONY: help setup build wasm demo test test-rust test-node test-package test-browser lint

help:
	@echo "make demo   install what is missing, build, and start origin + test card + tracker"
	@echo "make test   install what is missing, then run every test and lint"

setup:
	@scripts/setup.sh

build: setup wasm
	cargo build --release $(RELEASE_BINS)

wasm: setup
	scripts/build-wasm.sh

demo: build
	scripts/demo.sh

test: setup wasm lint test-rust test-node test-browser
	@echo "all tests passed"

# Clippy lints while the tests build: clippy-driver wraps rustc for the
# workspace's crates (as `cargo clippy` does, but building, not only
# checking), so a fresh machine compiles the dependencies once instead of a
# second time for a check build (~5 min of CI). Same lints as
# `cargo clippy --workspace --all-targets -- -D warnings`. Not for the wasm
# build: clippy-driver turns MIR optimisations off.
lint test-rust test-node test-browser: export RUSTC_WORKSPACE_WRAPPER := clippy-driver
lint test-rust test-node test-browser: export CLIPPY_ARGS := -Dwarnings

lint:
	cargo fmt --all -- --check
	cargo test --workspace --all-targets --no-run

test-rust:
	cargo test --workspace

test-node:
	cargo build $(TEST_BINS)
	node --test --test-concurrency=1 tests/node/

# The npm package alone (also part of test-node): tarball, every bundler, tsc.
test-package: wasm
	node --test --test-concurrency=1 tests/node/package.test.mjs tests/node/bundlers.test.mjs tests/node/types.test.mjs

# Firefox, and Chromium as on a real network (mDNS candidates only), need a
# namespace with a veth pair (see scripts/in-netns.sh).
test-browser:
	cargo build $(TEST_BINS)
	scripts/in-netns.sh node --test --test-concurrency=1 tests/browser/
	scripts/in-netns.sh --veth node --test --test-concurrency=1 tests/firefox/ tests/veth/
