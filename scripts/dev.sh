#!/bin/sh
# What `npm run local`, `npm test` and `npm run test:<tier>` run, from a bare clone as from a working tree:
# Node 22 (scripts/use-node22.sh, when the system's is older), the dependencies (npm ci, when node_modules is
# missing or older than package-lock.json), the build the task needs, then the task. Progress goes to stderr.
#
#   sh scripts/dev.sh local                  the main job on the emulator (tools/local/run-local.ts)
#   sh scripts/dev.sh test [jest args]       the unit, emulator, end-to-end and simulation tiers, one after another
#   sh scripts/dev.sh test:unit|test:emulator|test:e2e|test:sim [jest args]
#   sh scripts/dev.sh sim [--runs N] [--seed S] …   the simulation's own runner (test/sim/run-sim.ts)
#   JEST_EMULATOR_WORKERS=N                  the emulator tier's parallel workers (default: CPUs, at least 2)
#
# npm itself does not check engines for `npm run`, but `npm ci` does (.npmrc: engine-strict), so Node 22 is put
# on PATH before anything is installed.
set -eu
cd "$(dirname "$0")/.."

say() { printf 'dev.sh: %s\n' "$*" >&2; }

task="${1:-}"
[ "$#" -gt 0 ] && shift

case "$task" in
  local | sim | test | test:unit | test:emulator | test:e2e | test:sim) ;;
  *)
    say "usage: sh scripts/dev.sh local | sim | test | test:unit | test:emulator | test:e2e | test:sim [jest args]"
    exit 2
    ;;
esac

# shellcheck source=./use-node22.sh
. scripts/use-node22.sh

if [ ! -f node_modules/.package-lock.json ]; then
  say "installing the dependencies: npm ci (node_modules is missing)"
  npm ci --no-audit --no-fund >&2
elif [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing the dependencies: npm ci (package-lock.json is newer than node_modules)"
  npm ci --no-audit --no-fund >&2
fi

build() {
  say "building dist/ (the product) and build/ (examples and tools): npm run build"
  npm run --silent build >&2
}

# One jest tier; the tier's wall time is kept for the summary.
summary=''
failed=0
tier() {
  name="$1"
  shift
  say "running the $name tier"
  started="$(date +%s)"
  status=0
  # The project goes last: --selectProjects takes every word after it as a project name, so a path given
  # before it selects files, as Jest documents.
  node --experimental-vm-modules node_modules/jest/bin/jest.js "$@" --selectProjects "$name" || status=$?
  seconds=$(($(date +%s) - started))
  if [ "$status" -eq 0 ]; then outcome=passed; else outcome="FAILED (exit $status)"; failed=1; fi
  summary="$summary$(printf '\n  %-8s %s in %s s' "$name" "$outcome" "$seconds")"
}

# The emulator tier's files are independent (each test has its own collections), so they run in parallel:
# one worker per CPU, at least two (Jest's own default, CPUs - 1, would run a 2-core machine in band).
cpus="$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)"
EMULATOR_WORKERS="${JEST_EMULATOR_WORKERS:-$((cpus > 2 ? cpus : 2))}"

case "$task" in
  local)
    build
    say "running the main job: node build/tools/local/run-local.js"
    exec node build/tools/local/run-local.js "$@"
    ;;
  sim)
    # The sources as they are, through Node's type stripping (with parameter properties: transform-types).
    say "running the simulation: test/sim/run-sim.ts"
    exec node --experimental-transform-types --no-warnings --import ./scripts/resolve-ts.ts test/sim/run-sim.ts "$@"
    ;;
  test:unit) tier unit "$@" ;;
  test:emulator) tier emulator --maxWorkers="$EMULATOR_WORKERS" "$@" ;;
  test:e2e)
    build
    tier e2e --runInBand "$@"
    ;;
  # The simulation's files split the histories between them: one worker per CPU, at least two.
  test:sim) tier sim --maxWorkers="$EMULATOR_WORKERS" "$@" ;;
  test)
    build
    # Extra arguments (a path, -t NAME) may select nothing in some tier; that tier then passes empty-handed.
    [ "$#" -gt 0 ] && set -- --passWithNoTests "$@"
    tier unit "$@"
    tier emulator --maxWorkers="$EMULATOR_WORKERS" "$@"
    tier e2e --runInBand "$@"
    tier sim --maxWorkers="$EMULATOR_WORKERS" "$@"
    ;;
esac

say "tiers:$summary"
exit "$failed"
