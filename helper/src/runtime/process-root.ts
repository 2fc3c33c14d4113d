/**
 * The root filesystem of a process sandbox, built by its init inside its new mount namespace
 * (so every mount below is the sandbox's own, never a host mount): a tmpfs root holding
 * read-only binds of the host's /usr, /etc and /opt, private /tmp, /var/tmp, /run, home and
 * /dev, fresh /proc and /sys, the workspace at its own path with `.leash/` read-only, and
 * leash-launch at /.leash-launch. leashd's state, socket and settings directories, when they
 * lie below a bound tree, are covered by an empty read-only tmpfs. Then the init pivots into
 * it (or, where the host's root is an initramfs, moves it over that root and changes its root
 * to it), says `ready` and holds the lifeline: it reads its input until leashd closes it (or dies),
 * and as PID 1 of the sandbox takes every process of it along when it ends.
 */

/** The init's script, run by /bin/sh as root; settings come in the environment (below) and
 *  the directories to hide as its arguments. */
export const INIT_SCRIPT = `
set -eu
umask 022
root=$LEASH_ROOT
ws=$LEASH_WORKSPACE

# With what is mounted below it (a separate /usr/local, the host's /etc/resolv.conf); those
# keep their own flags, and their files are the host's, which the sandbox user cannot write.
ro_bind() {
  mkdir -p "$root$1"
  mount --rbind "$1" "$root$1"
  mount -o remount,bind,ro,nosuid,nodev "$root$1"
}

mount -t tmpfs -o mode=0755,nosuid,nodev leash-root "$root"
for d in /usr /etc /opt; do
  if [ -d "$d" ] && [ ! -L "$d" ]; then ro_bind "$d"; fi
done
for l in /bin /sbin /lib /lib32 /lib64 /libx32; do
  if [ -L "$l" ]; then
    ln -s "$(readlink "$l")" "$root$l"
  elif [ -d "$l" ]; then
    ro_bind "$l"
  fi
done
for p in "$@"; do
  if [ -d "$root$p" ]; then mount -t tmpfs -o ro,mode=0755,size=4k leash-hidden "$root$p"; fi
done

mkdir -p "$root/tmp" "$root/var/tmp" "$root/run" "$root/proc" "$root/sys" "$root/dev"
mount -t tmpfs -o mode=1777,nosuid,nodev leash-tmp "$root/tmp"
mount -t tmpfs -o mode=1777,nosuid,nodev leash-var-tmp "$root/var/tmp"
mount -t tmpfs -o mode=0755,nosuid,nodev leash-run "$root/run"
mkdir -p "$root$LEASH_HOME"
home_options="mode=0700,uid=$LEASH_UID,gid=$LEASH_GID,nosuid,nodev"
mount -t tmpfs -o "$home_options" leash-home "$root$LEASH_HOME"

if [ ! -d "$root$ws" ]; then mkdir -p "$root$ws"; fi
mount --bind "$ws" "$root$ws"
mount -o remount,bind,nosuid,nodev "$root$ws"
mount --bind "$ws/.leash" "$root$ws/.leash"
mount -o remount,bind,ro,nosuid,nodev "$root$ws/.leash"
: > "$root/.leash-launch"
mount --bind "$LEASH_LAUNCHER" "$root/.leash-launch"
mount -o remount,bind,ro,nosuid,nodev "$root/.leash-launch"

mount -t tmpfs -o mode=0755,nosuid,noexec leash-dev "$root/dev"
mknod -m 0666 "$root/dev/null" c 1 3
mknod -m 0666 "$root/dev/zero" c 1 5
mknod -m 0666 "$root/dev/full" c 1 7
mknod -m 0666 "$root/dev/random" c 1 8
mknod -m 0666 "$root/dev/urandom" c 1 9
mknod -m 0666 "$root/dev/tty" c 5 0
mkdir "$root/dev/pts" "$root/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,nosuid,noexec leash-pts "$root/dev/pts"
ln -s pts/ptmx "$root/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev leash-shm "$root/dev/shm"
ln -s /proc/self/fd "$root/dev/fd"
ln -s /proc/self/fd/0 "$root/dev/stdin"
ln -s /proc/self/fd/1 "$root/dev/stdout"
ln -s /proc/self/fd/2 "$root/dev/stderr"
mount -t proc -o nosuid,nodev,noexec leash-proc "$root/proc"
mount -t sysfs -o ro,nosuid,nodev,noexec leash-sys "$root/sys"

ip link set lo up
# No ICMP datagram sockets for anyone, as in containers.
echo "1 0" > /proc/sys/net/ipv4/ping_group_range

hold='mount -o remount,ro / && cd "$LEASH_WORKSPACE" && echo ready && while read -r _; do :; done'
mkdir "$root/.leash-old"
cd "$root"
if pivot_root . .leash-old; then
  cd /
  umount -l /.leash-old
  rmdir /.leash-old
  exec /bin/sh -c "$hold"
fi
# The host's root is the initial ramfs (a VM without switch_root), which pivot_root refuses:
# the new root is moved over it instead, and the init's root changed to it.
rmdir .leash-old
mount --move . /
exec chroot . /bin/sh -c "$hold"
`;

export interface RootSpec {
  /** An empty host directory the new root is mounted on (seen only inside the sandbox). */
  stagingDir: string;
  workspace: string;
  launcher: string;
  home: string;
  uid: number;
  gid: number;
}

/** The init's environment: the settings INIT_SCRIPT reads, and a PATH for its tools. */
export function initEnv(spec: RootSpec): Record<string, string> {
  return {
    PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
    LEASH_ROOT: spec.stagingDir,
    LEASH_WORKSPACE: spec.workspace,
    LEASH_LAUNCHER: spec.launcher,
    LEASH_HOME: spec.home,
    LEASH_UID: String(spec.uid),
    LEASH_GID: String(spec.gid),
  };
}
