#!/usr/bin/env bash
# A two-node Docker Swarm on this machine, for the Swarm tests (recipe: the shared swarm-test-hosts
# notes): two extra dockerd, each in its own network and UTS namespace (hostnames <prefix>-node1,
# <prefix>-node2), joined by one veth pair on 10.232.<octet>.0/24; node1 is the manager. The test
# images are loaded into both (no registry is reachable). The machine's own engine is never touched
# and never becomes a swarm.
#
#   scripts/swarm-test-hosts.sh up   <prefix> [<octet>] [image…]   prints the env file's path
#   scripts/swarm-test-hosts.sh down <prefix>
#
# <prefix>: 1-8 lowercase letters/digits, unique per test run (it names the namespaces, the veth
# ends and /tmp/<prefix>-swarm). The env file holds SWARM_MANAGER (the manager's DOCKER_HOST),
# SWARM_NODE1 / SWARM_NODE2 (each node's socket) and SWARM_NODE1_NAME / SWARM_NODE2_NAME.
# `down` removes only what `up` made for that prefix; it is safe to run after a failed `up`.
set -euo pipefail

say() { echo "swarm-test-hosts: $*" >&2; }
cmd=${1:?usage: swarm-test-hosts.sh up|down <prefix> [octet] [image...]}
prefix=${2:?a prefix (1-8 lowercase letters or digits) is needed}
[[ $prefix =~ ^[a-z0-9]{1,8}$ ]] || { say "bad prefix '$prefix'"; exit 2; }
dir=/tmp/${prefix}-swarm
sock() { echo "$dir/n$1/docker.sock"; }
node() { docker -H "unix://$(sock "$1")" "${@:2}"; }

down() {
  for n in 1 2; do
    if [ -S "$(sock "$n")" ]; then node "$n" swarm leave --force >/dev/null 2>&1 || true; fi
    local pidfile=$dir/n$n/docker.pid
    if [ -f "$pidfile" ]; then
      local pid
      pid=$(cat "$pidfile")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  # Mounts a killed dockerd left (overlay layers, netns bind mounts) under this prefix's own directory.
  if [ -d "$dir" ]; then
    # (No mount left is fine: grep's exit 1 must not end the clean-up under errexit and pipefail.)
    { grep -o " $dir/[^ ]*" /proc/mounts || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  fi
  for n in 1 2; do ip netns del "${prefix}$n" 2>/dev/null || true; done
  ip link del "${prefix}a" 2>/dev/null || true
  rm -rf "$dir"
}

up() {
  local octet=${1:-0}
  shift || true
  local images=("$@")
  [ "$(id -u)" = 0 ] || { say "needs root (network namespaces, dockerd)"; exit 1; }
  local net=10.232.$octet
  mkdir -p "$dir"
  ip netns add "${prefix}1"
  ip netns add "${prefix}2"
  ip link add "${prefix}a" type veth peer name "${prefix}b"
  ip link set "${prefix}a" netns "${prefix}1"
  ip link set "${prefix}b" netns "${prefix}2"
  ip -n "${prefix}1" addr add "$net.1/24" dev "${prefix}a"
  ip -n "${prefix}2" addr add "$net.2/24" dev "${prefix}b"
  for n in 1 2; do
    local end=a
    [ "$n" = 2 ] && end=b
    ip -n "${prefix}$n" link set lo up
    ip -n "${prefix}$n" link set "${prefix}$end" up
    mkdir -p "$dir/n$n"
    # nsenter, not `ip netns exec` (that remounts /sys and dockerd then finds no devices cgroup);
    # its own UTS namespace so that the node is called by its own name.
    setsid unshare --uts sh -c 'hostname "$1" && exec nsenter --net=/var/run/netns/"$2" dockerd \
        --data-root "$3/data" --exec-root "$3/exec" --pidfile "$3/docker.pid" -H "unix://$3/docker.sock"' \
      sh "${prefix}-node$n" "${prefix}$n" "$dir/n$n" >"$dir/n$n/dockerd.log" 2>&1 </dev/null &
  done
  for n in 1 2; do
    for _ in $(seq 1 120); do
      node "$n" version --format '{{.Server.Version}}' >/dev/null 2>&1 && break
      sleep 0.5
    done
    node "$n" version --format '{{.Server.Version}}' >/dev/null 2>&1 || {
      say "node$n did not start; its log:"
      tail -n 20 "$dir/n$n/dockerd.log" >&2
      exit 1
    }
  done
  node 1 swarm init --advertise-addr "$net.1" >/dev/null
  local token
  token=$(node 1 swarm join-token -q worker)
  node 2 swarm join --token "$token" "$net.1:2377" >/dev/null
  for _ in $(seq 1 60); do
    [ "$(node 1 node ls --format '{{.Status}}' | grep -c Ready)" = 2 ] && break
    sleep 0.5
  done
  for n in 1 2; do
    if [ ${#images[@]} -gt 0 ]; then docker save "${images[@]}" | node "$n" load -q >/dev/null; fi
  done
  cat >"$dir/env" <<EOF
SWARM_MANAGER=unix://$(sock 1)
SWARM_NODE1=unix://$(sock 1)
SWARM_NODE2=unix://$(sock 2)
SWARM_NODE1_NAME=${prefix}-node1
SWARM_NODE2_NAME=${prefix}-node2
EOF
  echo "$dir/env"
}

case "$cmd" in
  up)
    shift 2
    # A failed start leaves nothing behind.
    trap 'rc=$?; if [ $rc != 0 ]; then say "up failed (exit $rc), cleaning up"; down; fi' EXIT
    up "$@"
    ;;
  down) down ;;
  *)
    say "unknown command '$cmd' (up | down)"
    exit 2
    ;;
esac
