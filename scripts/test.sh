#!/usr/bin/env bash
# test.sh: the test command (`npm test`). Provisions the real components the tests use
# (scripts/provision.sh), installs dependencies when they are stale, typechecks, then runs
# node:test over every test/**/*.test.ts, or over the test files given as arguments.
# Exits with the test runner's code (or the typecheck's, which stops a full run before the
# tests); the runner's summary is the last thing printed.
set -euo pipefail
cd "$(dirname "$0")/.."

# What tests may rely on (test/support/docker.ts reads them); a caller may override them.
export FERRY_TEST_REGISTRY=${FERRY_TEST_REGISTRY:-127.0.0.1:5000}
export FERRY_TEST_BUSYBOX_IMAGE=${FERRY_TEST_BUSYBOX_IMAGE:-ferry-test/busybox:latest}
export FERRY_TEST_BUSYBOX_USER_IMAGE=${FERRY_TEST_BUSYBOX_USER_IMAGE:-ferry-test/busybox-user:latest}
export FERRY_TEST_NOTAR_IMAGE=${FERRY_TEST_NOTAR_IMAGE:-ferry-test/notar:latest}
export FERRY_TEST_OLD_KUBECTL=${FERRY_TEST_OLD_KUBECTL:-/var/lib/ferry-test-kubectl/usr/bin/kubectl}
# The ferry processes the tests start run the sources as they are, never a dist/ built before
# an edit (bin/compiled.js); FERRY_FROM_SOURCE= (empty) lets them run a fresh dist/.
export FERRY_FROM_SOURCE=${FERRY_FROM_SOURCE-1}

# Provisioning comes first: it installs the compilers better-sqlite3 is built with.
bash scripts/provision.sh

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # Only the npm registry is reachable: node-gyp must take Node's headers from this machine.
  node_prefix=$(dirname "$(dirname "$(command -v node)")")
  if [ -z "${npm_config_nodedir:-}" ] && [ -f "$node_prefix/include/node/node.h" ]; then
    export npm_config_nodedir=$node_prefix
  fi
  npm ci --no-audit --no-fund
fi

if [ $# -gt 0 ]; then
  # A subset run is someone's inner loop: type errors elsewhere should not block it.
  npm run --silent typecheck || echo "test.sh: typecheck failed (see above); running the tests anyway" >&2
  files=("$@")
else
  npm run --silent typecheck
  # Node 20 does not expand globs given to --test itself.
  mapfile -t files < <(find test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
fi
[ ${#files[@]} -gt 0 ] || { echo "test.sh: no test files found" >&2; exit 1; }

# Node 20's spec reporter repeats the failures after its summary; move the summary to the end.
if [ -t 1 ]; then export FORCE_COLOR=${FORCE_COLOR:-1}; fi
set +e
node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}" | awk '
  { line = $0; gsub(/\033\[[0-9;]*m/, "", line) }
  line ~ /^ℹ tests [0-9]+$/ { holding = 1 }
  holding && line ~ /^ℹ / { summary = summary $0 "\n"; if (line ~ /^ℹ duration_ms/) holding = 0; next }
  { print; fflush(); if (summary != "") after = 1 }
  END { if (after) print ""; printf "%s", summary }'
status=("${PIPESTATUS[@]}")
exit "${status[0]}"
