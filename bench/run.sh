#!/usr/bin/env bash
# `make bench`: every benchmark under bench/, one after another, then one
# summary. Output goes to the terminal and to bench/results/latest.txt.
#
#   bench/run.sh [AREA...]        e.g. bench/run.sh runtime brig
#
# An area is a directory of bench/ with a run.sh (run as is) or a Go main
# package (built, then run with its defaults). runtime and brig come first:
# brig-runtime vs runc vs crun (issue 2), brig vs podman (issue 3).
# Extra flags for them: BENCH_RUNTIME_FLAGS, BENCH_BRIG_FLAGS (e.g.
# BENCH_RUNTIME_FLAGS="-rounds 10 -seq 200"). Needs root and `make build`.
# Exit status: 0 if every target passed, 1 if any was missed or an area failed.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH

areas=("$@")
if [ ${#areas[@]} -eq 0 ]; then
	areas=(runtime brig)
	for d in bench/*/; do
		a=$(basename "$d")
		case $a in runtime | brig | internal | results) continue ;; esac
		if [ -f "$d/run.sh" ] || ls "$d"/*.go >/dev/null 2>&1; then
			areas+=("$a")
		fi
	done
fi

mkdir -p bench/results
out=bench/results/latest.txt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

flags_for() {
	case $1 in
	runtime) echo "${BENCH_RUNTIME_FLAGS:-}" ;;
	brig) echo "${BENCH_BRIG_FLAGS:-}" ;;
	esac
}

run_area() {
	local a=$1 d=bench/$1
	echo
	echo "######## bench/$a ($(date -u +%H:%M:%S) UTC, load $(cut -d' ' -f1 /proc/loadavg))"
	if [ -x "$d/run.sh" ]; then
		"$d/run.sh"
	elif [ -f "$d/run.sh" ]; then
		bash "$d/run.sh"
	elif ls "$d"/*.go >/dev/null 2>&1; then
		go build -o "$tmp/$a" "./$d" || return 2
		# shellcheck disable=SC2046
		"$tmp/$a" $(flags_for "$a")
	else
		echo "bench/$a: no run.sh and no Go program" >&2
		return 2
	fi
}

{
	echo "brig benchmarks, $(date -u '+%Y-%m-%d %H:%M:%S') UTC, $(git describe --always --dirty 2>/dev/null || echo '?'), $(nproc) cores, $(uname -r)"
	status=()
	for a in "${areas[@]}"; do
		run_area "$a" 2>&1 | tee "$tmp/$a.log"
		rc=${PIPESTATUS[0]}
		status+=("$a:$rc")
	done

	echo
	echo "######## summary"
	fail=0
	for s in "${status[@]}"; do
		a=${s%%:*} rc=${s##*:}
		if grep -qE '^(PASS|MISS) ' "$tmp/$a.log"; then
			grep -E '^(PASS|MISS) ' "$tmp/$a.log"
		fi
		case $rc in
		0) word=ok ;;
		1) word="targets missed" ;;
		*) word="FAILED (exit $rc)" ;;
		esac
		echo "bench/$a: $word"
		[ "$rc" = 0 ] || fail=1
	done
	npass=$(cat "$tmp"/*.log 2>/dev/null | grep -cE '^PASS ')
	nmiss=$(cat "$tmp"/*.log 2>/dev/null | grep -cE '^MISS ')
	echo "targets: $npass PASS, $nmiss MISS"
	echo "$fail" >"$tmp/fail"
} 2>&1 | tee "$out"
echo "(written to $out)"
exit "$(cat "$tmp/fail" 2>/dev/null || echo 1)"
