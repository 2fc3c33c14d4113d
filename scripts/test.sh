#!/usr/bin/env bash
# Runs every suite with node's test runner: unit tests of each package, then the cross-package
# suites in test/. Run after scripts/setup.sh (`npm test` does both).
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t files < <(find policies/dist bpf/dist helper/dist test/dist -name '*.test.js' | sort)
[ ${#files[@]} -gt 0 ] || { echo "no test files found; did the build run?" >&2; exit 1; }
# Suites share the Docker engine and kernel; one file at a time keeps them from fighting.
exec node --test --test-concurrency=1 "${files[@]}"
