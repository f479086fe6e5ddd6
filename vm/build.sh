#!/usr/bin/env bash
# Builds the test VM's kernel and base initramfs from Debian packages and
# prints the directory holding vmlinux and base.cpio.
#
# The kernel comes from `apt-get download linux-image-...` and is only
# unpacked here: the host's /boot is never touched. The root tree is made
# of host binaries from packages CI installs (.ci/packages.txt, "# vm"):
# busybox-static, the SELinux userspace, the reference policy store with
# refpolicy's container module linked in, and the devel headers so that
# `brig policy build/install` can run inside the VM. File labels are
# computed here with setfiles (the guest cannot relabel its rootfs, and
# setfiles in the guest takes seconds) and applied by vminit at boot.
#
# Everything is cached under $VM_CACHE (default .cache/vm) keyed by the
# package versions and this script. vminit (PID 1) comes with each run's
# payload (vm/run.sh), so changing it does not rebuild the base.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
cache=${VM_CACHE:-$PWD/.cache/vm}
log() { echo "vm/build: $*" >&2; }

kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[ -n "$kpkg" ] || { log "cannot resolve linux-image-amd64 to a kernel package"; exit 1; }
kver=$(apt-cache policy "$kpkg" | awk '/Candidate:/{print $2}')
pkgs="busybox-static libselinux1 libsepol2 libsemanage2 policycoreutils semodule-utils checkpolicy
selinux-policy-default selinux-policy-src selinux-policy-dev make m4 coreutils libc6"
vers=$(dpkg-query -W $pkgs 2>/dev/null) || { log "missing host packages: $pkgs"; exit 1; }
key=$( { echo "$kpkg $kver"; echo "$vers"; cat vm/build.sh vm/cmd/vminit/host.go; } | sha256sum | cut -c1-16)
out=$cache/$key
if [ -s "$out/vmlinux" ] && [ -s "$out/base.cpio" ]; then
	log "cached $out"
	echo "$out"
	exit 0
fi
log "building $out ($kpkg $kver)"
start=$(date +%s)
work=$cache/work-$key
rm -rf "$work" && mkdir -p "$work" "$out"
root=$work/root

# Kernel: unpack the package, then turn bzImage into the ELF vmlinux QEMU
# boots through PVH (skips the decompressor: about 6 s under TCG).
( cd "$work" && apt-get download -q "$kpkg" >/dev/null )
dpkg-deb -x "$work"/"$kpkg"_*.deb "$work/kpkg"
kernel=$(ls "$work"/kpkg/boot/vmlinuz-*)
modroot=$(ls -d "$work"/kpkg/lib/modules/*)
go run ./vm/cmd/vminit extract-vmlinux "$kernel" "$work/vmlinux"

mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,lib/modules,etc,dev,proc,sys,run,tmp,root,var/tmp,var/log/audit,var/lib/brig,payload}
chmod 1777 "$root/tmp" "$root/var/tmp"

# Kernel modules brig needs that Debian builds as modules: overlay for the
# image store, plus their dependencies (in load order).
for m in kernel/fs/overlayfs/overlay.ko; do
	[ -f "$modroot/$m" ] || { log "kernel module $m missing"; exit 1; }
	cp "$modroot/$m" "$root/lib/modules/"
done
printf '%s\n' overlay.ko >"$root/lib/modules/load"

# busybox for the shell tools; its applets never shadow the real tools
# copied below (ls -Z and friends need coreutils with SELinux).
cp /bin/busybox "$root/bin/busybox"
for a in $(/bin/busybox --list); do
	[ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"
done
rm -f "$root/bin/init" "$root/sbin/init"

# Dynamically linked tools and their libraries, at their host paths.
tools="/usr/sbin/load_policy /usr/sbin/setfiles /usr/sbin/semodule /usr/sbin/getenforce
/usr/sbin/setenforce /usr/sbin/sestatus /usr/sbin/sefcontext_compile /usr/bin/checkmodule
/usr/bin/semodule_package /usr/bin/make /usr/bin/m4 /usr/bin/runcon /usr/bin/chcon
/usr/bin/ls /usr/bin/id /usr/bin/stat /usr/libexec/selinux/hll/pp"
for t in $tools; do
	[ -x "$t" ] || { log "missing $t"; exit 1; }
	mkdir -p "$root$(dirname "$t")"
	rm -f "$root$t"
	cp "$t" "$root$t"
	ldd "$t" | awk '/=> \//{print $3} /^\s*\/lib/{print $1}' >>"$work/libs"
done
for l in $(sort -u "$work/libs"); do
	mkdir -p "$root$(dirname "$l")"
	cp -L "$l" "$root$l"
done
mkdir -p "$root/lib64" && cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"
# coreutils tools win over busybox applets of the same name.
for t in ls id stat chcon runcon; do ln -sf /usr/bin/$t "$root/bin/$t"; done

# The policy: a private copy of the Debian store with refpolicy's container
# module (container_t, container_file_t) built from selinux-policy-src and
# linked in offline; modules another tool added to the host store are
# dropped so that the VM starts from the packaged policy.
mkdir -p "$root/var/lib/selinux" "$root/usr/share/selinux"
cp -a /etc/selinux "$root/etc/"
cp -a /var/lib/selinux/default "$root/var/lib/selinux/"
cp -a /usr/share/selinux/devel "$root/usr/share/selinux/"
sed -i 's/^SELINUX=.*/SELINUX=enforcing/; s/^SELINUXTYPE=.*/SELINUXTYPE=default/' "$root/etc/selinux/config"
shipped=$(ls /usr/share/selinux/default | sed -n 's/\.pp\(\.bz2\)\?$//p' | sort)
have=$(semodule -p "$root" -s default -l 2>/dev/null | awk '{print $1}' | sort)
extra=$(comm -13 <(echo "$shipped") <(echo "$have") | grep -vx 'container' || true)
for m in $extra; do
	log "dropping host module $m from the VM store"
	semodule -p "$root" -s default -n -r "$m" >/dev/null 2>&1 || true
done
make -s build >/dev/null
pp=$(bin/brig policy build --container-base "$work/container")
semodule -p "$root" -s default -n -i "$pp" 2>&1 | grep -v 'not in password file' >&2 || true
semodule -p "$root" -s default -l | grep -qx container || { log "container module not linked"; exit 1; }
[ -s "$root/etc/selinux/default/policy/policy.33" ] || { log "no policy.33"; exit 1; }

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
echo "127.0.0.1 localhost" >"$root/etc/hosts"

# Device nodes live on the root tmpfs so that they get their proper types
# (devtmpfs nodes created before the policy loads are mislabelled).
mk() { mknod -m "$1" "$root/dev/$2" c "$3" "$4"; }
mk 666 null 1 3; mk 666 zero 1 5; mk 666 full 1 7; mk 666 random 1 8; mk 666 urandom 1 9
mk 666 tty 5 0; mk 600 console 5 1; mk 666 ptmx 5 2; mk 660 ttyS0 4 64; mk 600 kmsg 1 11
mkdir -p "$root/dev/pts" "$root/dev/shm" "$root/dev/mqueue"
ln -s /proc/self/fd "$root/dev/fd"

setfiles -r "$root" "$root/etc/selinux/default/contexts/files/file_contexts" "$root" 2>&1 | grep -v '^$' >&2 || true
go run ./vm/cmd/vminit dump-labels "$root" >"$root/.labels"
( cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet ) >"$out/base.cpio.tmp"
cp "$root/etc/selinux/default/contexts/files/file_contexts" "$out/file_contexts"
cp "$work/vmlinux" "$out/vmlinux.tmp"
mv "$out/base.cpio.tmp" "$out/base.cpio" && mv "$out/vmlinux.tmp" "$out/vmlinux"
rm -rf "$work"
log "built in $(($(date +%s) - start)) s: $(du -sh "$out" | cut -f1)"
echo "$out"
