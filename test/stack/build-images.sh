#!/usr/bin/env bash
# Builds the test stack's image locally (no registry is reachable): a root filesystem made of
# Debian's busybox-static, Debian's nats-server (the real NATS server, with the libraries it links)
# and the stand-in service scripts, imported with `docker import`.
# Rebuilds only when the inputs change (their hash is stored as an image label).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../../scripts/lib/rootfs-image.sh"
image=${DOOM_OPS_TEST_IMAGE:-doom-ops-test/base:latest}
busybox=$(command -v busybox || true)
[ -x /bin/busybox ] && busybox=/bin/busybox
if [ -z "$busybox" ] || ! "$busybox" --list >/dev/null 2>&1; then
  echo "build-images: busybox not found; install Debian's busybox-static" >&2
  exit 1
fi
if ldd "$busybox" >/dev/null 2>&1; then
  echo "build-images: $busybox is dynamically linked; install Debian's busybox-static" >&2
  exit 1
fi

nats=$(command -v nats-server || true)
[ -z "$nats" ] && [ -x /usr/sbin/nats-server ] && nats=/usr/sbin/nats-server
if [ -z "$nats" ]; then
  echo "build-images: nats-server not found; install Debian's nats-server (bash scripts/ensure-docker.sh does)" >&2
  exit 1
fi
nats=$(readlink -f "$nats")
mapfile -t libs < <(rootfs_libs "$nats")

hash=$( (cat "$busybox" "$nats" "$here"/rootfs-files/* "$0" "$here/../../scripts/lib/rootfs-image.sh"
  for l in "${libs[@]}"; do cat "$(readlink -f "$l")"; done) | sha256sum | cut -c1-16)
rootfs_exit_if_current "$image" "$hash"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
rootfs_add_busybox "$root" "$busybox"
install -D -m 0755 "$nats" "$root/usr/sbin/nats-server"
rootfs_add_libs "$root" "${libs[@]}"
mkdir -p "$root"/{etc,opt/doom,data,data/db,www,root,home/doom}
printf 'root:x:0:0:root:/root:/bin/sh\ndoom:x:1000:1000:doom:/home/doom:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\ndoom:x:1000:\n' > "$root/etc/group"
chown 1000:1000 "$root/home/doom"
install -m 0755 "$here"/rootfs-files/*.sh "$root/opt/doom/"
# Stand-ins for the database tools doom-ops runs inside containers (see each script's header).
mkdir -p "$root/usr/local/bin"
for f in "$here"/rootfs-files/standin-*.sh; do
  name=$(basename "$f" .sh)
  install -m 0755 "$f" "$root/usr/local/bin/${name#standin-}"
done

rootfs_import "$root" "$image" "$hash" 'CMD ["/bin/sh", "/opt/doom/svc.sh"]'
echo "build-images: built $image ($hash)"
