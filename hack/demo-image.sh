#!/usr/bin/env bash
# Loads the offline demo image brig-demo:latest (busybox from Debian's
# busybox-static) into brig's store. Needs: apt-get install busybox-static.
# Usage: hack/demo-image.sh [path/to/brig]   (BRIG_ROOT is honoured)
set -euo pipefail
cd "$(dirname "$0")/.."
brig=${1:-brig}
[ -x /bin/busybox ] || { echo "demo-image: /bin/busybox missing: apt-get install -y busybox-static" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go run ./hack/mkdemo -o "$tmp/brig-demo.tar"
"$brig" load -i "$tmp/brig-demo.tar"
