#!/usr/bin/env bash
# Boots a QEMU VM (software emulation, no network) with a stock Debian kernel whose LSM list
# includes `bpf`, runs one command inside as root and exits with that command's exit code.
#
#   test/vm/run.sh [--lsm LIST] [--timeout SECONDS] -- COMMAND [ARGS...]
#
# The guest sees the host's /usr read-only and this working tree read-write at the same path,
# with proc, sysfs, devtmpfs, securityfs, bpffs, tracefs and cgroup2 (at
# /sys/fs/cgroup/unified, as on the host) mounted and a tmpfs on /tmp. The kernel package is
# fetched with `apt-get download` and extracted, never installed; it and the initramfs are
# cached under .cache/vm/<kernel package>_<version>/ and reused. `--lsm` boots with `lsm=LIST`
# instead of the kernel's default list (to check that a missing `bpf` is noticed).
# Environment: LEASH_VM_KERNEL_PACKAGE (default: what linux-image-amd64 depends on),
# LEASH_VM_MEMORY (MiB, default 2048), LEASH_VM_CPUS (default 2), LEASH_VM_CPU (the emulated
# CPU model, default Nehalem: no AVX, whose emulation is new in QEMU 7.2 and which V8's
# generated code uses when the CPU offers it).
set -euo pipefail

die() { echo "leash vm: $*" >&2; exit 2; }

tree=$(cd "$(dirname "$0")/../.." && pwd)
lsm=
timeout_s=600
while [ $# -gt 0 ]; do
  case "$1" in
    --lsm) lsm=${2:?--lsm needs a comma-separated LSM list}; shift 2 ;;
    --timeout) timeout_s=${2:?--timeout needs seconds}; shift 2 ;;
    --) shift; break ;;
    *) die "unknown option $1; usage: test/vm/run.sh [--lsm LIST] [--timeout S] -- COMMAND..." ;;
  esac
done
[ $# -gt 0 ] || die "no command given; usage: test/vm/run.sh [--lsm LIST] -- COMMAND..."
for tool in qemu-system-x86_64 busybox cpio depmod modprobe dpkg-deb apt-get; do
  command -v "$tool" >/dev/null ||
    die "$tool is missing; run scripts/setup.sh (it installs qemu-system-x86, busybox-static, cpio and kmod)"
done

# 1. The kernel package and its cache folder.
package=${LEASH_VM_KERNEL_PACKAGE:-$(apt-cache depends linux-image-amd64 2>/dev/null |
  awk '/Depends: linux-image-[0-9]/ {print $2; exit}')}
[ -n "$package" ] ||
  die "cannot tell which kernel linux-image-amd64 depends on; run apt-get update or set LEASH_VM_KERNEL_PACKAGE"
case "$package" in
  *-cloud-amd64) die "$package lacks 9p; use a generic -amd64 kernel package" ;;
esac
version=$(apt-cache show --no-all-versions "$package" 2>/dev/null |
  awk '/^Version:/ {print $2; exit}')
[ -n "$version" ] || die "apt knows no package $package; run apt-get update"
cache="$tree/.cache/vm/${package}_${version}"

if [ ! -e "$cache/ready" ]; then
  echo "leash vm: preparing $package $version in ${cache#"$tree"/}" >&2
  work=$(mktemp -d)
  chmod 0755 "$work" # apt-get download runs as _apt
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && apt-get download -qq "$package=$version") ||
    die "apt-get download $package=$version failed"
  dpkg-deb -x "$work"/*.deb "$work/root"
  kver=$(basename "$(ls -d "$work"/root/lib/modules/* | head -1)")
  [ -e "$work/root/boot/vmlinuz-$kver" ] || die "$package holds no /boot/vmlinuz-$kver"

  # Virtio and 9p are modules: resolve their load order with depmod/modprobe.
  depmod -b "$work/root" "$kver"
  modules=$(for m in virtio_pci 9pnet_virtio 9p; do
    modprobe -d "$work/root" -S "$kver" --show-depends "$m"
  done | awk '$1 == "insmod" && !seen[$2]++ {print $2}')
  [ -n "$modules" ] || die "no virtio/9p modules found in $package"

  ramfs="$work/initramfs"
  mkdir -p "$ramfs"/{.busybox,proc,sys,dev,tmp,usr,etc,modules,run,root}
  for link in bin lib lib64 sbin; do ln -s "usr/$link" "$ramfs/$link"; done
  cp "$(command -v busybox)" "$ramfs/.busybox/busybox"
  for applet in sh mount insmod mkdir cat poweroff sync echo sleep; do
    ln -s busybox "$ramfs/.busybox/$applet"
  done
  : > "$ramfs/modules/order"
  for m in $modules; do
    name=$(basename "$m")
    case "$name" in
      *.ko.xz) xz -dc "$m" > "$ramfs/modules/${name%.xz}"; name=${name%.xz} ;;
      *.ko.zst) zstd -qdc "$m" > "$ramfs/modules/${name%.zst}"; name=${name%.zst} ;;
      *) cp "$m" "$ramfs/modules/$name" ;;
    esac
    echo "$name" >> "$ramfs/modules/order"
  done
  cp /etc/ld.so.cache "$ramfs/etc/" 2>/dev/null || true
  {
    echo 'root:x:0:0:root:/root:/bin/sh'
    echo 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin'
  } > "$ramfs/etc/passwd"
  printf 'root:x:0:\nleash:x:999:\nnogroup:x:65534:\n' > "$ramfs/etc/group"
  echo leash-vm > "$ramfs/etc/hostname"
  install -m 0755 "$tree/test/vm/init.sh" "$ramfs/init"
  (cd "$ramfs" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initramfs.gz"

  mkdir -p "$cache"
  cp "$work/root/boot/vmlinuz-$kver" "$cache/vmlinuz"
  mv "$work/initramfs.gz" "$cache/initramfs.gz"
  echo "$kver" > "$cache/ready"
  rm -rf "$work"
  trap - EXIT
fi
# The init script is rebuilt into the cached initramfs when it changed.
if [ "$tree/test/vm/init.sh" -nt "$cache/initramfs.gz" ]; then
  work=$(mktemp -d)
  (cd "$work" && gzip -dc "$cache/initramfs.gz" | cpio -id --quiet &&
    install -m 0755 "$tree/test/vm/init.sh" init &&
    find . | cpio -o -H newc --quiet | gzip -1) > "$cache/initramfs.gz.tmp"
  mv "$cache/initramfs.gz.tmp" "$cache/initramfs.gz"
  rm -rf "$work"
fi

# 2. The run folder the guest reads its command from and writes its exit code to.
run=$(mktemp -d "$tree/.cache/vm/run.XXXXXX")
trap 'rm -rf "$run"' EXIT
{
  printf 'cd %q\n' "$PWD"
  printf 'exec'
  printf ' %q' "$@"
  printf '\n'
} > "$run/command"
env_file="$run/env"
for name in LEASH_REQUIRE_KERNEL LEASH_VM_RESULTS; do
  if [ -n "${!name:-}" ]; then printf 'export %s=%q\n' "$name" "${!name}"; fi
done > "$env_file"
# WebAssembly bounds checks by explicit compares, not by guard-page faults: under emulation a
# cedar-wasm call once failed with "memory access out of bounds" that the host never shows.
printf 'export NODE_OPTIONS=%q\n' "--disable-wasm-trap-handler ${NODE_OPTIONS:-}" >> "$env_file"
# Node loads leashd's modules in minutes under emulation: test daemons get that long.
printf 'export LEASH_TEST_DAEMON_START_S=%q\n' "${LEASH_TEST_DAEMON_START_S:-600}" >> "$env_file"

append="console=ttyS0 quiet loglevel=3 panic=-1 leash.tree=$tree leash.run=$run"
[ -z "$lsm" ] || append="$append lsm=$lsm"

# 3. Boot. The guest's console is this process's output; the command's own exit code comes back
#    through the run folder (QEMU's own status says nothing about it).
status=0
timeout --foreground "$timeout_s" qemu-system-x86_64 \
  -accel tcg -cpu "${LEASH_VM_CPU:-Nehalem}" -smp "${LEASH_VM_CPUS:-2}" -m "${LEASH_VM_MEMORY:-2048}" \
  -nographic -no-reboot -nic none \
  -kernel "$cache/vmlinuz" -initrd "$cache/initramfs.gz" -append "$append" \
  -virtfs local,path=/usr,mount_tag=usr,security_model=none,readonly=on \
  -virtfs "local,path=$tree,mount_tag=tree,security_model=passthrough" \
  < /dev/null || status=$?
if [ "$status" = 124 ]; then die "the VM did not power off within ${timeout_s} s"; fi
[ "$status" = 0 ] || die "qemu failed with status $status"
[ -s "$run/exit" ] || die "the guest wrote no exit code (it failed before running the command)"
exit "$(cat "$run/exit")"
