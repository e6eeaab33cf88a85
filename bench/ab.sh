#!/usr/bin/env bash
# ab.sh compares Go benchmarks between two versions of cachelens with
# interleaved rounds: each round runs one process of version A, then one of
# version B (alternating which goes first), so a change in the machine's
# load hits both alike. `go test -count N` would run all N repetitions of
# one version before the next.
#
# Usage: bench/ab.sh [-r ROUNDS] [-t BENCHTIME] BASE PKG BENCH
#   BASE   a git revision for version A; version B is the working tree
#   PKG    a benchmark package, relative to the repository's root: one of
#          the bench module (./bench/runtimebench) or of the main module
#          (./server/internal/store/storebench)
#   BENCH  the -bench regular expression
# Both versions run the working tree's benchmark code (bench/, the shared
# benchmark helpers internal/cputime and internal/baseline, and PKG are
# copied over version A), so only the code under test differs. A package
# that moved between A and the working tree cannot be compared this way:
# check out the older commit and run its ab.sh there.
# Output: benchstat of A against B, including cpu-ns/op where reported.
set -euo pipefail
rounds=10 benchtime=300ms
while getopts r:t: opt; do
	case $opt in
	r) rounds=$OPTARG ;;
	t) benchtime=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 3 ] || { sed -n '2,16p' "$0"; exit 2; }
base=$1 pkg=$2 bench=$3
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$work/a" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git -C "$root" worktree add --detach "$work/a" "$base" >/dev/null 2>&1
pkg=./${pkg#./}
for d in bench internal/cputime internal/baseline "$pkg"; do
	rm -rf "$work/a/$d" && mkdir -p "$(dirname "$work/a/$d")" && cp -r "$root/$d" "$work/a/$d"
done
mod=.
case $pkg in ./bench/*) mod=bench pkg=./${pkg#./bench/} ;; esac
(cd "$work/a/$mod" && go test -c -o "$work/A.test" "$pkg")
(cd "$root/$mod" && go test -c -o "$work/B.test" "$pkg")
command -v benchstat >/dev/null || go install golang.org/x/perf/cmd/benchstat@latest
export PATH="$PATH:$(go env GOPATH)/bin"
dir=$(cd "$root/$mod/$pkg" && pwd)
for i in $(seq "$rounds"); do
	order="A B"
	[ $((i % 2)) -eq 0 ] && order="B A"
	for v in $order; do
		(cd "$dir" && "$work/$v.test" -test.run '^$' -test.bench "$bench" -test.benchtime "$benchtime" -test.count 1 | grep -E '^(Benchmark|goos|goarch|pkg|cpu)' | sed "s/^Benchmark/Benchmark/") >>"$work/$v.txt"
	done
done
cp "$work/A.txt" "${AB_OUT:-/tmp}/ab-A.txt"
cp "$work/B.txt" "${AB_OUT:-/tmp}/ab-B.txt"
benchstat A="$work/A.txt" B="$work/B.txt"
