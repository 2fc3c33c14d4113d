#!/usr/bin/env bash
# Builds the sandbox base image offline: debootstrap from the Debian mirror apt already uses,
# imported into Docker. No container registry is involved. The image tag carries a hash of
# this script, so a second run finds it and returns at once.
set -euo pipefail

suite=bookworm
packages=ca-certificates,procps
key=$(cat "$0" | sha256sum | cut -c1-12)
tag="leash/base:$key"

if docker image inspect "$tag" >/dev/null 2>&1; then
  docker tag "$tag" leash/base:latest
  echo "leash: base image $tag is up to date"
  exit 0
fi

# The mirror apt is configured with (deb822 or one-line format).
mirror=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)
if [ -z "$mirror" ]; then
  mirror=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)
fi
if [ -z "$mirror" ]; then
  echo "leash: no Debian mirror found in apt's sources; cannot build the base image" >&2
  exit 1
fi

root=$(mktemp -d /var/tmp/leash-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "leash: building base image $tag (debootstrap $suite, about a minute)"
debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" >"$root.log" 2>&1 || {
  echo "leash: debootstrap failed; its log:" >&2
  tail -n 30 "$root.log" >&2
  exit 1
}
rm -f "$root.log"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import -c 'CMD ["/bin/bash"]' - "$tag" >/dev/null
docker tag "$tag" leash/base:latest
echo "leash: base image $tag built"
