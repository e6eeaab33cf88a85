#!/usr/bin/env bash
# test.sh runs every test cachelens has. It is the command README.md gives
# and the one CI runs (.ci/run). Run it from the repository root.
set -euo pipefail
cd "$(dirname "$0")"

step() { printf '\n== %s\n' "$*"; }

step "gofmt"
unformatted=$(find . -name '*.go' -not -path '*/node_modules/*' -not -path './.git/*' -print0 | xargs -0 gofmt -l)
if [ -n "$unformatted" ]; then
	echo "not gofmt-formatted:"; echo "$unformatted"; exit 1
fi

step "go vet ./..."
go vet ./...

step "go test -race ./..."
go test -race -count=1 ./...

step "fuzz seed corpora and benchmarks compile (bench module)"
(cd bench && go vet ./... && go test -count=1 -run 'Test' -bench 'x^' ./...)

echo
echo "all tests passed"
