#!/usr/bin/env bash
# Supply-chain checks against deny.toml: licences, one version per crate,
# crates.io only (`cargo deny check bans licenses sources`, no network needed
# once the crates are fetched), then known vulnerabilities (`cargo deny check
# advisories` and `cargo audit`), which need the RustSec advisory database
# from GitHub. Not in .ci/run: installing cargo-deny alone compiles for 10 to
# 18 minutes on a 2-core machine, and the advisory database cannot be fetched
# on machines without internet access. Run it where both are affordable.
#
#   deploy/ci/supply-chain.sh            # everything
#   deploy/ci/supply-chain.sh --offline  # licences, bans and sources only
set -euo pipefail
cd "$(dirname "$0")/../.."

offline=false
[[ "${1:-}" == "--offline" ]] && offline=true

command -v cargo-deny >/dev/null || cargo install cargo-deny --locked
cargo deny --offline check bans licenses sources

if $offline; then
    echo "advisories: skipped (--offline)"
    exit 0
fi
command -v cargo-audit >/dev/null || cargo install cargo-audit --locked
cargo deny check advisories
cargo audit --deny warnings
