#!/bin/sh
# Behaviour of every clau-doom stand-in service in the test stack, chosen by environment:
#   SERVICE  name written into each JSON log line
#   MODE     normal | oom (log, then allocate past the memory limit) | crash (log an error, exit 1)
#            | write (touch WRITE_TO, log the error and exit 1 when that fails)
#   OOM_AFTER seconds before allocating (oom mode), OOM_BYTES how much to allocate
#            | nats (the real NATS server, Debian's nats-server: clients on 4222, monitoring on
#              HTTP_PORT, default 8222, JetStream stored under NATS_STORE, default /data)
#   HTTP_PORT  when set, busybox httpd serves /www on it (dashboard; nats monitoring outside nats mode)
# Lines are JSON with a level so log filtering can be tested; the TERM trap keeps stops fast.
SERVICE=${SERVICE:-svc}
MODE=${MODE:-normal}

log() { # level msg [extra json fields]
  printf '{"ts":"%s","level":"%s","service":"%s","msg":"%s"%s}\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" "$SERVICE" "$2" "${3:+,$3}"
}

trap 'log info "received SIGTERM, shutting down"; exit 0' TERM INT

log info "starting" "\"mode\":\"$MODE\",\"pid\":$$"
[ -n "$API_TOKEN" ] && log info "registered with dashboard api_token=$API_TOKEN"
if [ "$MODE" = nats ]; then
  # A child, not exec: PID 1 stays this script, so a test can stop (SIGSTOP) the server alone.
  nats-server -js -sd "${NATS_STORE:-/data}" -m "${HTTP_PORT:-8222}" -p 4222 -n "$SERVICE" &
  pid=$!
  trap 'kill -TERM "$pid" 2>/dev/null; wait "$pid"; exit 0' TERM INT
  wait "$pid"
  rc=$?
  log error "nats-server exited $rc"
  exit "$rc"
fi
if [ -n "$HTTP_PORT" ]; then
  mkdir -p /www/api && echo ok > /www/healthz && echo '{"status":"ok"}' > /www/api/health
  httpd -p "$HTTP_PORT" -h /www
fi
# UNHEALTHY: fail the healthcheck from the start (stack_up's failure scenario).
[ -n "$UNHEALTHY" ] && echo "$UNHEALTHY" > /tmp/unhealthy
[ -n "$STARTUP_LINES" ] && for l in $STARTUP_LINES; do log "$l" "startup check $l"; done

case "$MODE" in
  oom)
    log warn "loading replay buffer into memory" "\"bytes\":\"${OOM_BYTES:-256M}\""
    log error "connecting to mongodb failed, retrying" "\"uri\":\"mongodb://admin:${MONGO_PASSWORD:-hunter2}@mongodb:27017/clau-doom\""
    sleep "${OOM_AFTER:-1}"
    # dd fills one buffer of OOM_BYTES, so the cgroup's OOM killer takes PID 1 (exit 137).
    exec dd if=/dev/zero of=/dev/null bs="${OOM_BYTES:-256M}" count=1
    ;;
  write)
    # A service that must write its data directory at startup (permission scenarios).
    if ! err=$(touch "${WRITE_TO:-/data/out}" 2>&1); then
      log error "cannot write ${WRITE_TO:-/data/out}: ${err##*: }" "\"error_type\":\"io\""
      exit 1
    fi
    ;;
  crash)
    sleep "${CRASH_AFTER:-1}"
    log error "${CRASH_MESSAGE:-fatal: cannot open episode queue}" "\"error_type\":\"fatal\""
    exit 1
    ;;
esac

log info "ready"
n=0
while :; do
  n=$((n + 1))
  log info "episode complete" "\"episode\":$n,\"latency_ms\":$((n % 7 * 10 + 20))"
  sleep "${LOG_INTERVAL:-5}" &
  wait $!
done
