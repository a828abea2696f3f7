# weir — the README's two commands are `make demo` and `make test`; both install what is missing.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/weir/target

.PHONY: deps demo test lint bench ci

# RocksDB's Rust bindings need libclang at build time.
deps:
	@command -v cargo >/dev/null || { echo "cargo is missing: install Rust with rustup (https://rustup.rs)"; exit 1; }
	@dpkg -s libclang-dev >/dev/null 2>&1 || apt-get install -y libclang-dev || { apt-get update && apt-get install -y libclang-dev; }

# The main demo job: a keyed word count over a generated stream, with progress.
demo: deps
	cargo run --release --example word_count

# Every test of the workspace (release profile: RocksDB's C++ is then built once, for one profile).
test: deps
	cargo test --release --workspace --all-features

lint: deps
	python3 .ci/check_layout.py
	cargo fmt --all -- --check
	cargo clippy --release --workspace --all-targets --all-features -- -D warnings
	cargo check --release -p weir-stream --no-default-features

bench: deps
	cargo bench --bench throughput

ci: lint test
