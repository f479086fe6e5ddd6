#!/usr/bin/env bash
# Boots the SELinux test VM (vm/build.sh) under QEMU, runs one command in
# it as unconfined_t, streams the serial console, and exits with the
# command's status (124 on timeout, 125 when the VM broke).
#
#	vm/run.sh [-t SECONDS] [-f HOSTFILE:GUESTPATH]... -- COMMAND [ARG...]
#
# Files given with -f are copied into the guest (a second cpio archive
# appended to the initramfs) and labelled with the VM policy's
# file_contexts. VM_SMP and VM_MEM size the guest; VM_ACCEL=kvm uses KVM
# when /dev/kvm works (this project's build machine cannot: TCG).
set -euo pipefail
cd "$(dirname "$0")/.."
timeout=600
files=()
while getopts "t:f:" o; do
	case $o in
	t) timeout=$OPTARG ;;
	f) files+=("$OPTARG") ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || { echo "usage: vm/run.sh [-t SECONDS] [-f HOST:GUEST]... -- COMMAND [ARG...]" >&2; exit 2; }

vm=$(vm/build.sh)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
p=$tmp/payload
mkdir -p "$p/payload"
printf '%s\n' "$@" >"$p/payload/cmdline"
# PID 1, labelled init_exec_t by file_contexts.
mkdir -p "$p/usr/sbin"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$p/usr/sbin/init" ./vm/cmd/vminit
for f in "${files[@]}"; do
	src=${f%%:*} dst=${f#*:}
	[ -e "$src" ] || { echo "vm/run: $src: no such file" >&2; exit 2; }
	mkdir -p "$p$(dirname "$dst")"
	cp -a "$src" "$p$dst"
done
setfiles -r "$p" "$vm/file_contexts" "$p" >/dev/null 2>&1
go run ./vm/cmd/vminit dump-labels "$p" | grep -v '^\.	' >"$p/.labels.payload"
( cd "$p" && find . -mindepth 1 | cpio -o -H newc --quiet ) >"$tmp/payload.cpio"
cat "$vm/base.cpio" "$tmp/payload.cpio" >"$tmp/initrd"

smp=${VM_SMP:-$(nproc)}
[ "$smp" -le 4 ] || smp=4
accel="-accel tcg,thread=multi,tb-size=256 -cpu max"
if [ "${VM_ACCEL:-tcg}" = kvm ]; then accel="-accel kvm -cpu host"; fi
cmdline="rdinit=/usr/sbin/init console=ttyS0 panic=-1 quiet security=selinux enforcing=1 cgroup_no_v1=all
mitigations=off cryptomgr.notests tsc=reliable no_timer_check rcupdate.rcu_expedited=1 8250.nr_uarts=1"
start=$(date +%s.%N)
set +e
# shellcheck disable=SC2086
timeout --foreground -k 5 "$timeout" qemu-system-x86_64 -M pc $accel -smp "$smp" -m "${VM_MEM:-2048}" \
	-nodefaults -nographic -serial stdio -no-reboot \
	-kernel "$vm/vmlinux" -initrd "$tmp/initrd" -append "$(echo $cmdline)" </dev/null |
	sed -u 's/\r$//' | tee "$tmp/console"
rc=${PIPESTATUS[0]}
set -e
secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{print b - a}')
if [ "$rc" = 124 ]; then
	echo "vm/run: timed out after $timeout s" >&2
	exit 124
fi
status=$(sed -n 's/^VMTEST-EXIT=\([0-9]*\)$/\1/p' "$tmp/console" | tail -1)
if [ -z "$status" ]; then
	echo "vm/run: the VM stopped without reporting a status (qemu exit $rc)" >&2
	exit 125
fi
printf 'vm/run: status %s after %.1f s in the VM\n' "$status" "$secs" >&2
exit "$status"
