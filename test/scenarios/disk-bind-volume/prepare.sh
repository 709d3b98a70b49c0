#!/usr/bin/env bash
mkdir -p "$WORK_DIR/blob"
