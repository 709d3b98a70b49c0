#!/usr/bin/env bash
set -e
docker kill -s HUP "${PROJECT}_worker_1" >/dev/null
