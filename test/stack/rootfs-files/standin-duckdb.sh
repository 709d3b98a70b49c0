#!/bin/sh
# Test stand-in for the duckdb CLI as doom-ops calls it (duckdb <file> -c "CHECKPOINT;"): the play
# log is written by the test with DuckDB itself and is already checkpointed; this records the call.
[ -f "$1" ] || { echo "IO Error: Cannot open file \"$1\": No such file or directory" >&2; exit 1; }
echo "$*" >> /tmp/duckdb-calls
