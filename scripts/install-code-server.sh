#!/usr/bin/env bash
# Installs code-server (VS Code served to a browser) into .cache/code-server for the extension's
# end-to-end suite in test/vscode/. Only the npm registry and Debian's packages are used: the
# ripgrep binary VS Code would fetch from GitHub is Debian's `rg`, and the native modules build
# against this machine's Node headers. Idempotent: a finished install is reused in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

# The newest release whose engines.node accepts Node 20 (4.101 and later need Node 22).
VERSION=4.100.3
DIR=.cache/code-server
STAMP=$DIR/installed-$VERSION

say() { echo "install-code-server: $*"; }
die() { echo "install-code-server: $*" >&2; exit 1; }

if [ -e "$STAMP" ] && [ -e "$DIR/node_modules/code-server/out/node/entry.js" ]; then
  say "code-server $VERSION already in $DIR"
  exit 0
fi
[ "$(id -u)" = 0 ] || die "must run as root to install ripgrep and libkrb5-dev; try sudo"

missing=()
for p in ripgrep libkrb5-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >/dev/null
fi

rm -rf "$DIR"
mkdir -p "$DIR/tmp"
echo '{ "private": true, "description": "code-server for the extension tests" }' \
  >"$DIR/package.json"
started=$(date +%s)

# @vscode/ripgrep looks in $TMPDIR/vscode-ripgrep-cache-<its version> before downloading.
RG_CACHE=$DIR/tmp/vscode-ripgrep-cache-1.15.11
mkdir -p "$RG_CACHE/rg"
cp /usr/bin/rg "$RG_CACHE/rg/rg"
tar -czf "$RG_CACHE/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz" -C "$RG_CACHE/rg" rg

say "installing code-server $VERSION from the npm registry"
(cd "$DIR" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error \
  "code-server@$VERSION")

say "installing VS Code's own dependencies (builds native modules; about a minute)"
(
  cd "$DIR/node_modules/code-server"
  export TMPDIR="$PWD/../../tmp" npm_config_yes=true npm_config_nodedir=/usr \
    npm_config_unsafe_perm=true npm_config_audit=false npm_config_fund=false \
    npm_config_loglevel=error
  npm run postinstall >"../../postinstall.log" 2>&1 \
    || die "code-server's postinstall failed; see $DIR/postinstall.log"
  # argon2 (hoisted to the install's own node_modules) ships no binary for this Node: build it.
  cd ../..
  npm_config_build_from_source=true npm rebuild argon2 >>postinstall.log 2>&1 \
    || die "rebuilding argon2 failed; see $DIR/postinstall.log"
)
[ -n "$(find "$DIR/node_modules/argon2" -name argon2.node -print -quit)" ] \
  || die "argon2 was not built; see $DIR/postinstall.log"
[ -x "$DIR/node_modules/code-server/lib/vscode/node_modules/@vscode/ripgrep/bin/rg" ] \
  || die "VS Code's ripgrep is missing after the install; see $DIR/postinstall.log"

touch "$STAMP"
say "code-server $VERSION ready in $DIR ($(($(date +%s) - started)) s)"
