#!/usr/bin/env bash
# Runs every suite with node's test runner: unit tests of each package, then the cross-package
# suites in test/. Run after scripts/setup.sh (`npm test` does both).
#
# Node 20's V8 has an intermittent crash ("Fatal error in , line 0 / unreachable code" in the
# deoptimizer, nodejs/node#51555) that kills a test process with SIGTRAP. A file whose
# process died that way, and only such a file, is run once more; an assertion failure is
# never retried.
set -uo pipefail
cd "$(dirname "$0")/.."

mapfile -t files < <(find policies/dist bpf/dist helper/dist language-server/dist extension/dist test/dist \
  -name '*.test.js' 2>/dev/null | sort)
[ ${#files[@]} -gt 0 ] || { echo "no test files found; did the build run?" >&2; exit 1; }

log=$(mktemp)
# Agent configuration volumes the suites made for their temporary workspaces go at the end
# (Leash itself keeps such volumes: they hold a user's agent logins and history).
cleanup() {
  rm -f "$log"
  command -v docker >/dev/null || return 0
  docker volume ls --filter label=dev.leash.agent \
    --format '{{.Name}} {{.Label "dev.leash.workspace"}}' 2>/dev/null |
    while read -r name workspace; do
      case "$workspace" in "${TMPDIR:-/tmp}"/leash-*) docker volume rm "$name" >/dev/null ;; esac
    done
}
trap cleanup EXIT
# Suites share the Docker engine and kernel; one file at a time keeps them from fighting.
node --test --test-reporter=tap --test-concurrency=1 "${files[@]}" | tee "$log"
status=${PIPESTATUS[0]}
[ "$status" = 0 ] && exit 0

# Files that failed only because V8 crashed: "not ok N - FILE" followed by signal SIGTRAP.
mapfile -t crashed < <(awk '/^not ok [0-9]+ - \// {file=$NF; next}
  file && /signal: .SIGTRAP./ {print file; file=""} /^ok / {file=""}' "$log" | sort -u)
failed=$(grep -cE '^not ok [0-9]+ - /' "$log")
if [ ${#crashed[@]} -eq 0 ] || [ "$failed" -ne ${#crashed[@]} ] || ! grep -q 'Fatal error in' "$log"; then
  exit "$status"
fi
echo "# V8 crashed in ${#crashed[@]} file(s) (nodejs/node#51555); running them once more:"
printf '#   %s\n' "${crashed[@]}"
node --test --test-reporter=tap --test-concurrency=1 "${crashed[@]}"
