#!/usr/bin/env bash
# Idempotent setup for a fresh Debian machine (root, Node 20): system packages, the leash group
# and directories, kernel filesystems, the Docker engine, npm dependencies, the build, and the
# offline sandbox base image. Safe to run again; a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "leash setup: $*"; }
die() { echo "leash setup: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (it installs packages, mounts bpffs and starts dockerd); try sudo"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
  || die "Node 20 or newer is needed; found $(node --version)"

# 1. System packages.
PACKAGES=(docker.io clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool make g++ pkg-config
  debootstrap iproute2 ca-certificates chromium nftables bubblewrap socat ripgrep qemu-system-x86
  busybox-static cpio kmod libssl-dev)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. Group and directories.
getent group leash >/dev/null || groupadd --system leash
install -d -m 0700 /var/lib/leash
install -d -m 0750 -g leash /run/leash
install -d -m 0755 /etc/leash

# 3. Kernel filesystems.
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
mountpoint -q /sys/kernel/security || mount -t securityfs securityfs /sys/kernel/security || true
if [ ! -e /sys/fs/cgroup/cgroup.controllers ] && [ ! -e /sys/fs/cgroup/unified/cgroup.procs ]; then
  mkdir -p /sys/fs/cgroup/unified
  mount -t cgroup2 none /sys/fs/cgroup/unified
fi

# 4. The Docker engine.
if ! docker info >/dev/null 2>&1; then
  say "starting dockerd"
  mkdir -p /var/log/leash
  nohup /usr/sbin/dockerd >/var/log/leash/dockerd.log 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || die "dockerd did not start; see /var/log/leash/dockerd.log"
fi

# 5. npm dependencies and the build (native addon, BPF objects, TypeScript).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies"
  npm install --no-audit --no-fund --loglevel=error
fi
if [ ! -e node_modules/better-sqlite3/build/Release/better_sqlite3.node ]; then
  npm rebuild better-sqlite3 --loglevel=error
fi
say "building"
npm run --silent build >/dev/null

# 6. The sandbox base image (offline, cached by content).
bash scripts/build-base-image.sh

# 7. code-server, a real VS Code for the extension's end-to-end suite (cached in .cache/).
bash scripts/install-code-server.sh

# 8. The agents image (Node and the agent CLIs from the npm registry): only when asked for, or
#    in CI, whose agent tests must run (LEASH_REQUIRE_KERNEL=1).
if [ "${LEASH_AGENT_IMAGES:-}" = 1 ] || [ "${LEASH_REQUIRE_KERNEL:-}" = 1 ]; then
  bash scripts/build-agent-image.sh
fi
say "ready"
