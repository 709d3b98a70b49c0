#!/usr/bin/env bash
# Fails: the port is taken now. The failure is what the scenario is about.
docker start "${PROJECT}_api_1" >/dev/null 2>&1 || true
