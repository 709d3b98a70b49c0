#!/usr/bin/env bash
set -e
docker kill -s KILL "${PROJECT}_worker_1" >/dev/null
