#!/bin/sh
# Test stand-in for MongoDB's mongorestore: accepts --uri=… --archive --gzip --drop, reads what the
# stand-in mongodump wrote from stdin and, as --drop does, replaces each collection in the archive
# (collections not in the archive are left alone). Logs the real tool's summary line.
uri='' archive='' gzip='' drop=''
for a in "$@"; do
  case "$a" in
    --uri=*) uri=${a#--uri=} ;;
    --archive) archive=1 ;;
    --gzip) gzip=1 ;;
    --drop) drop=1 ;;
    *) echo "mongorestore: error parsing command line options: unknown option $a" >&2; exit 2 ;;
  esac
done
if [ -z "$uri" ] || [ -z "$archive" ] || [ -z "$gzip" ] || [ -z "$drop" ]; then
  echo "mongorestore (stand-in): expects --uri=… --archive --gzip --drop" >&2
  exit 2
fi
tmp=$(mktemp -d)
gunzip -c | tar -x -f - -C "$tmp" || { echo "mongorestore: archive is corrupt" >&2; exit 1; }
n=0
cd /data/db || exit 1
for f in "$tmp"/*/*.jsonl; do
  [ -f "$f" ] || continue
  rel=${f#"$tmp"/}
  mkdir -p "$(dirname "$rel")"
  cp "$f" "$rel"
  n=$((n + $(wc -l < "$f")))
done
rm -rf "$tmp"
echo "$(date -u +%Y-%m-%dT%H:%M:%S.000+0000)	$n document(s) restored successfully. 0 document(s) failed to restore." >&2
