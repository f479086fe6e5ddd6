# shellcheck shell=bash
# Private podman setup for brig's engine tests and benchmarks: a throw-away
# podman root (storage, state, locks, events, logs) under one directory, with
# the settings this host needs (see /work/shared/notes/real-clients.md) and
# three OCI runtimes registered by name.
#
# Sourced:   source hack/podman-env.sh DIR
#            podman run --runtime brig --rm localhost/bb true
#   exports  CONTAINERS_CONF CONTAINERS_STORAGE_CONF CONTAINERS_REGISTRIES_CONF
#            PODMAN_ENV_DIR BRIG_RUNTIME CRUN_HYBRID
#   defines  podman_import_bb [TAR]  import the busybox test image as localhost/bb
#            podman_env_cleanup remove every container/image, unmount, rm -rf DIR
# Executed:  hack/podman-env.sh DIR import-bb [TAR] | cleanup | COMMAND [ARGS...]
#
# Runtimes (all listed in runtime_supports_json, so conmon passes
# --log-format=json --log FILE and podman parses their errors):
#   brig  $BRIG_RUNTIME (default: bin/brig-runtime of this checkout)
#   runc  Debian's runc
#   crun  Debian's crun through $CRUN_HYBRID: crun refuses hybrid cgroups when
#         cgroup2 lists a controller, so the wrapper hides
#         /sys/fs/cgroup/unified/cgroup.controllers in a private mount namespace
#         (bench-anchors.md) without touching the host's mounts.
#
# Host settings: default_ulimits below the host's hard limits (no
# CAP_SYS_RESOURCE here, podman's 1048576 fails setrlimit), netns "none" (no
# network), cgroupfs (no systemd), file events logger, k8s-file logs, file
# locks (so parallel private roots never share /dev/shm/libpod_lock).
# Storage: overlay, or vfs when DIR is on overlayfs; PODMAN_ENV_DRIVER
# overrides.
# Needs root and Debian's podman, conmon, runc, crun, util-linux.

podman_env_setup() {
	local dir=$1 repo
	if [ -z "$dir" ]; then
		echo "podman-env: usage: source hack/podman-env.sh DIR" >&2
		return 2
	fi
	mkdir -p "$dir" || return 1
	dir=$(cd "$dir" && pwd) || return 1
	repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd) || return 1
	: "${BRIG_RUNTIME:=$repo/bin/brig-runtime}"
	local runc crun
	runc=$(command -v runc || echo /usr/sbin/runc)
	crun=$(command -v crun || echo /usr/bin/crun)
	mkdir -p "$dir/storage" "$dir/run" "$dir/tmp" "$dir/bin" "$dir/net" "$dir/volumes" || return 1

	CRUN_HYBRID=$dir/bin/crun-hybrid
	cat >"$CRUN_HYBRID" <<EOF
#!/bin/sh
# crun on a hybrid cgroup host: hide cgroup2's controller list in a private
# mount namespace (see hack/podman-env.sh). The bind fails harmlessly where
# there is no /sys/fs/cgroup/unified (pure v1 or v2: crun needs no help).
exec unshare -m --propagation private sh -c 'mount --bind /dev/null /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null; exec "\$0" "\$@"' "$crun" "\$@"
EOF
	chmod 0755 "$CRUN_HYBRID" || return 1

	# Kernel overlayfs as root; vfs where DIR itself is on overlayfs (a CI
	# container), which the kernel refuses as an upper layer.
	local driver=${PODMAN_ENV_DRIVER:-}
	if [ -z "$driver" ]; then
		case $(stat -f -c %T "$dir") in
		overlay*) driver=vfs ;;
		*) driver=overlay ;;
		esac
	fi
	cat >"$dir/storage.conf" <<EOF
[storage]
driver = "$driver"
graphroot = "$dir/storage"
runroot = "$dir/run"
EOF
	cat >"$dir/containers.conf" <<EOF
[containers]
netns = "none"
log_driver = "k8s-file"
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[network]
network_config_dir = "$dir/net"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$dir/events.log"
lock_type = "file"
tmp_dir = "$dir/tmp"
static_dir = "$dir/storage/libpod"
volume_path = "$dir/volumes"
runtime = "runc"
runtime_supports_json = ["brig", "runc", "crun"]

[engine.runtimes]
brig = ["$BRIG_RUNTIME"]
runc = ["$runc"]
crun = ["$CRUN_HYBRID"]
EOF
	# No registries: every image name is local (localhost/...).
	: >"$dir/registries.conf"
	export CONTAINERS_CONF=$dir/containers.conf
	export CONTAINERS_STORAGE_CONF=$dir/storage.conf
	export CONTAINERS_REGISTRIES_CONF=$dir/registries.conf
	export PODMAN_ENV_DIR=$dir BRIG_RUNTIME CRUN_HYBRID
}

# podman_import_bb [TAR] imports the busybox-static test image
# (internal/testimage) as localhost/bb:latest (CMD /bin/sh). TAR is a
# docker-archive of it already written (go run ./hack/mkdemo -t
# localhost/bb:latest -o TAR); without it the archive is built here, which
# needs Go and busybox-static.
podman_import_bb() {
	local repo tar=$1
	if [ -z "$tar" ]; then
		repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd) || return 1
		tar=$PODMAN_ENV_DIR/bb.tar
		(cd "$repo" && go run ./hack/mkdemo -t localhost/bb:latest -o "$tar") || return 1
	fi
	podman load -q -i "$tar" >/dev/null || return 1
	[ -n "$1" ] || rm -f "$tar"
}

# podman_env_cleanup removes the private root: containers, images, storage
# mounts, and the directory itself.
podman_env_cleanup() {
	local dir=${PODMAN_ENV_DIR:?podman-env: not set up} m
	podman rm -af -t 0 >/dev/null 2>&1
	podman rmi -af >/dev/null 2>&1
	# Deepest mounts first (overlay layers, shm, the storage's own bind).
	for m in $(findmnt -rn -o TARGET | grep -F "$dir/" | sort -r); do
		umount -l "$m" 2>/dev/null
	done
	rm -rf "$dir"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	# Executed, not sourced.
	set -e
	[ $# -ge 2 ] || { echo "usage: $0 DIR import-bb [TAR] | cleanup | COMMAND [ARGS...]" >&2; exit 2; }
	podman_env_setup "$1"
	shift
	case $1 in
	import-bb) podman_import_bb "$2" ;;
	cleanup) podman_env_cleanup ;;
	*) exec "$@" ;;
	esac
else
	podman_env_setup "$1"
fi
