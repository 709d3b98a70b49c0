#!/usr/bin/env bash
# Makes a Docker engine available for the demo and the tests, without disturbing one that runs.
#  - An engine already answers (DOCKER_HOST or the default socket): use it, change nothing.
#  - Otherwise, as root on Debian: install docker.io, docker-compose (v1, used by tests to make
#    genuine Compose stacks), busybox-static (the test image's root filesystem) and nats-server
#    (the test stack's real NATS, copied into that image) when missing,
#    start dockerd in the background, and wait for its socket.
# Idempotent: running it again with the engine up only reports that it is up.
set -euo pipefail

say() { echo "ensure-docker: $*" >&2; }
engine_up() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }
need_pkgs=()
command -v docker >/dev/null 2>&1 || need_pkgs+=(docker.io)
command -v dockerd >/dev/null 2>&1 || need_pkgs+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 || need_pkgs+=(docker-compose)
if ! [ -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then need_pkgs+=(busybox-static); fi
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || need_pkgs+=(nats-server)
# The Swarm tests' extra engines live in network namespaces (scripts/swarm-test-hosts.sh).
command -v ip >/dev/null 2>&1 || need_pkgs+=(iproute2)
command -v nsenter >/dev/null 2>&1 || need_pkgs+=(util-linux)

# shellcheck source=lib/apt-install.sh
source "$(dirname "$0")/lib/apt-install.sh"
# The packages' own service start fails without systemd; that is expected, dockerd is started below.
apt_install_missing ensure-docker ${need_pkgs[@]+"${need_pkgs[@]}"}

if engine_up; then
  say "engine up: $(docker version --format 'server {{.Server.Version}}, API {{.Server.APIVersion}}') at ${DOCKER_HOST:-unix:///var/run/docker.sock}"
  exit 0
fi

if [ -n "${DOCKER_HOST:-}" ] && [ "${DOCKER_HOST}" != "unix:///var/run/docker.sock" ]; then
  say "DOCKER_HOST=${DOCKER_HOST} does not answer; not starting a local engine in its place"
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  say "no engine answers at /var/run/docker.sock and starting dockerd needs root"
  exit 1
fi

log=/var/log/doom-ops-dockerd.log
say "starting dockerd in the background (log: $log)"
# A stale pid file from a killed dockerd would stop a new one from starting.
if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then rm -f /var/run/docker.pid; fi
nohup dockerd >"$log" 2>&1 &
for _ in $(seq 1 60); do
  if engine_up; then
    say "engine up: $(docker version --format 'server {{.Server.Version}}, API {{.Server.APIVersion}}')"
    exit 0
  fi
  sleep 1
done
say "dockerd did not answer within 60 s; last log lines:"
tail -n 20 "$log" >&2 || true
exit 1
