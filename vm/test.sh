#!/usr/bin/env bash
# `make vmtest`: builds brig, the live test binary (test/live, tag live)
# and the demo image, boots the SELinux VM with them, runs the suite as
# unconfined_t, prints each test's outcome and exits with the suite's
# status. Extra arguments go to the test binary (e.g. -test.run 'Cgroup').
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH CGO_ENABLED=0
t0=$(date +%s)
vm/build.sh >/dev/null
t1=$(date +%s)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make -s build
go test -c -tags live -o "$tmp/live.test" ./test/live
go run ./hack/mkdemo -o "$tmp/brig-demo.tar"
t2=$(date +%s)
set +e
vm/run.sh -t "${VMTEST_TIMEOUT:-720}" \
	-f bin/brig:/usr/local/bin/brig \
	-f bin/brig-runtime:/usr/local/bin/brig-runtime \
	-f bin/brig-monitor:/usr/local/bin/brig-monitor \
	-f "$tmp/live.test:/usr/local/bin/live.test" \
	-f "$tmp/brig-demo.tar:/payload/brig-demo.tar" \
	-- /usr/local/bin/live.test -test.v -test.timeout "${VMTEST_SUITE_TIMEOUT:-11m}" "$@" | tee "$tmp/out"
rc=${PIPESTATUS[0]}
set -e
t3=$(date +%s)
echo "== vmtest summary"
grep -E '^\s*--- (PASS|FAIL|SKIP)' "$tmp/out" || echo "(no test results: the suite did not run)"
echo "== vmtest: status $rc; VM build/cache $((t1 - t0)) s, go build $((t2 - t1)) s, boot+suite $((t3 - t2)) s"
exit "$rc"
