#!/usr/bin/env bash
set -e
docker pause "${PROJECT}_vizdoom_1" >/dev/null
