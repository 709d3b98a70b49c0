#!/usr/bin/env bash
# `npm run scenarios`: the diagnosis evaluation suite on the real engine, then its score table.
# DOOM_OPS_SCENARIOS=name,name runs only those.
set -uo pipefail
cd "$(dirname "$0")/.."
report=$(mktemp)
trap 'rm -f "$report"' EXIT
DOOM_OPS_SCENARIO_REPORT="$report" npx vitest run test/integration/scenarios.test.ts
rc=$?
echo
cat "$report"
exit $rc
