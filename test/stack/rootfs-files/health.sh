#!/bin/sh
# Healthcheck of every stand-in service: unhealthy on demand (touch /tmp/unhealthy).
if [ -f /tmp/unhealthy ]; then
  echo "health probe failed: $(cat /tmp/unhealthy)"
  exit 1
fi
echo "ok"
