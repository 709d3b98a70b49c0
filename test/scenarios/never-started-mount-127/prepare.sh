#!/usr/bin/env bash
echo 'not a directory' > "$WORK_DIR/afile"
