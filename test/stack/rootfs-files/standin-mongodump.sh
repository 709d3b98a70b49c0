#!/bin/sh
# Test stand-in for MongoDB's mongodump (no MongoDB server can be installed here). Accepts the flags
# doom-ops passes (--uri=… --archive --gzip) and dumps the "database" this image keeps as files,
# /data/db/<db>/<collection>.jsonl with one document per line, as a gzipped tar on stdout. Like the
# real tool it logs "done dumping <db>.<collection> (<n> documents)" on stderr.
uri='' archive='' gzip=''
for a in "$@"; do
  case "$a" in
    --uri=*) uri=${a#--uri=} ;;
    --archive) archive=1 ;;
    --gzip) gzip=1 ;;
    *) echo "mongodump: error parsing command line options: unknown option $a" >&2; exit 2 ;;
  esac
done
if [ -z "$uri" ] || [ -z "$archive" ] || [ -z "$gzip" ]; then
  echo "mongodump (stand-in): expects --uri=… --archive --gzip" >&2
  exit 2
fi
cd /data/db || { echo "mongodump: cannot reach the database" >&2; exit 1; }
for f in */*.jsonl; do
  [ -f "$f" ] || continue
  n=$(wc -l < "$f")
  printf '%s\tdone dumping %s.%s (%s documents)\n' "$(date -u +%Y-%m-%dT%H:%M:%S.000+0000)" "${f%%/*}" "$(basename "$f" .jsonl)" $n >&2
done
tar -c -f - . | gzip -c
