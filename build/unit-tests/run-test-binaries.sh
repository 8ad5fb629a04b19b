#!/bin/sh
# Runs Go test binaries compiled on another platform the way `go test -json` runs them:
# each in its package's directory, its output turned into JSON events by test2json, as
# many packages at a time as there are CPUs.
#
#   run-test-binaries.sh TESTS RESULTS
#
# TESTS holds test2json (built for this platform), `manifest` (per package: binary, import
# path, directory; tab-separated) and `flags` (one test binary flag per line). Writes
# RESULTS/go-test.json in manifest order and, when COVERAGE is set, RESULTS/coverage.out.
# Exits 1 when a package failed.
set -eu
tests=$1
results=$2

if [ "${3:-}" = package ]; then
    tab=$(printf '\t')
    IFS=$tab read -r index binary package directory <<EOF
$4
EOF
    set --
    while IFS= read -r flag; do set -- "$@" "$flag"; done <"$tests/flags"
    if [ -n "${COVERAGE:-}" ]; then
        set -- "$@" "-test.coverprofile=$results/coverage/$index.out"
    fi
    cd "$directory"
    "$tests/test2json" -t -p "$package" "$binary" -test.v=test2json "$@" \
        >"$results/json/$index.json" || touch "$results/failed"
    exit 0
fi

mkdir -p "$results/json" "$results/coverage"
count=$(wc -l <"$tests/manifest")
awk '{ print NR "\t" $0 }' "$tests/manifest" |
    xargs -d '\n' -r -n 1 -P "$(nproc)" sh "$0" "$tests" "$results" package
index=1
while [ "$index" -le "$count" ]; do
    cat "$results/json/$index.json"
    index=$((index + 1))
done >"$results/go-test.json"
if [ -n "${COVERAGE:-}" ]; then
    {
        echo "mode: $COVERAGE"
        for profile in "$results"/coverage/*.out; do
            if [ -e "$profile" ]; then tail -n +2 "$profile"; fi
        done
    } >"$results/coverage.out"
fi
[ ! -e "$results/failed" ]
