#!/.busybox/sh
# The VM's init: loads the virtio and 9p modules, mounts the host's /usr and the working tree,
# the kernel filesystems the BPF backend needs, runs the command the host left in the run
# folder, writes its exit code there and powers off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/.busybox
export HOME=/root

fail() {
  echo "leash vm init: $*"
  poweroff -f
}

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run

while read -r module; do
  insmod "/modules/$module" || fail "insmod $module failed"
done < /modules/order

for arg in $(cat /proc/cmdline); do
  case "$arg" in
    leash.tree=*) tree=${arg#leash.tree=} ;;
    leash.run=*) run=${arg#leash.run=} ;;
  esac
done
[ -n "$tree" ] && [ -n "$run" ] || fail "no leash.tree= or leash.run= on the kernel command line"

opts=trans=virtio,version=9p2000.L,msize=512000
mount -t 9p -o "$opts,ro,cache=loose" usr /usr || fail "cannot mount the host's /usr"
mkdir -p "$tree"
mount -t 9p -o "$opts,cache=none" tree "$tree" || fail "cannot mount the working tree"

mount -t securityfs securityfs /sys/kernel/security
mount -t bpf bpf /sys/fs/bpf
mount -t tracefs tracefs /sys/kernel/tracing
mount -t tmpfs -o mode=0755 cgroup /sys/fs/cgroup
mkdir -p /sys/fs/cgroup/unified
mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
ln -s /proc/self/mounts /etc/mtab
ln -s /proc/self/fd /dev/fd
mkdir -p /run/leash /var/lib/leash /etc/leash /var/tmp

. "$run/env"
sh "$run/command"
echo $? > "$run/exit"
sync
poweroff -f
