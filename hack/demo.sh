#!/usr/bin/env bash
# brig's main job on the built-in demo image: run a service with exactly
# the privileges it needs, see what it holds, and judge a risky config.
# Run by `make demo` (which installs packages and builds first).
set -euo pipefail
cd "$(dirname "$0")/.."
brig=bin/brig
export BRIG_ROOT=${BRIG_ROOT:-/var/lib/brig}
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if ! $brig images -q brig-demo >/dev/null 2>&1 || [ -z "$($brig images -q brig-demo 2>/dev/null)" ]; then
	step "Import the demo image (busybox from Debian's busybox-static, offline)"
	hack/demo-image.sh "$brig"
fi
$brig rm -f demo-web >/dev/null 2>&1 || true

step "Docker's default: 14 capabilities"
$brig run --rm brig-demo grep Cap /proc/self/status

step "The article's tuning: --cap-drop SETUID --cap-drop SETGID --cap-drop FOWNER"
$brig run --rm --cap-drop SETUID --cap-drop SETGID --cap-drop FOWNER brig-demo grep CapEff /proc/self/status

step "Least privilege: a web server that may only bind its port"
$brig run -d --name demo-web --cap-drop ALL --cap-add NET_BIND_SERVICE \
	--security-opt no-new-privileges --read-only brig-demo httpd -f -p 80 >/dev/null
$brig ps
step "What it holds (brig caps, pscap done right)"
$brig caps demo-web --diff
step "Its effective security, decoded (brig inspect)"
$brig inspect demo-web | sed -n '/"Security"/,/"Warnings"/p' | grep -E '"(Privileged|CapabilityDiff|Mode|NoNewPrivileges|ReadOnlyRootfs|State)"'
step "It cannot do what it was not granted"
$brig exec demo-web sh -c 'chown 1 /tmp 2>&1 || true; echo x > /etc/x 2>&1 || true'
$brig rm -f demo-web >/dev/null

step "Least privilege from evidence: record what a container uses..."
prof=$(mktemp -d)/web.json
$brig run --rm --record "$prof" brig-demo sh -c 'chown 1 /tmp; nc -l -p 8080 & sleep 0.3; kill $!'
step "...then enforce exactly that (caps, seccomp allow-list, Landlock ports)"
$brig run --rm --profile "$prof" brig-demo sh -c 'chown 1 /tmp && echo "recorded work: ok"; nc -l -p 8081 || echo "other port: refused"'
rm -rf "$(dirname "$prof")"

step "Judge a risky configuration before it runs (brig lint)"
$brig lint --fail-on critical -- run --privileged --pid=host -v /:/host brig-demo sh || true
