#!/usr/bin/env bash
# Fails: the container whose network it joins is not running. The failure is the scenario.
docker restart -t 1 "${PROJECT}_sidecar_1" >/dev/null 2>&1 || true
