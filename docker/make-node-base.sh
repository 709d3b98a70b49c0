#!/usr/bin/env bash
# Makes a minimal Node.js base image from this machine's own files, for building doom-ops's image
# where no registry is reachable (on a machine that reaches Docker Hub, node:20-bookworm-slim does
# the same job: pass --build-arg NODE_IMAGE=node:20-bookworm-slim to docker build instead).
#
# Contents: the host's `node` binary and npm, the shared libraries `ldd` says node needs (the
# official Linux build links only glibc and libstdc++), Debian's busybox-static for /bin/sh and the
# usual utilities, and a `node` user (uid 1000) as in the official image. Rebuilt only when its
# inputs change (their hash is an image label).
set -euo pipefail
source "$(dirname "$0")/../scripts/lib/rootfs-image.sh"
image=${1:-doom-ops/node-base:20}
node_bin=$(readlink -f "$(command -v node)")
npm_dir=$(cd "$(dirname "$(readlink -f "$(command -v npm)")")/.." && pwd)
busybox=/bin/busybox
if ! [ -x "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
  echo "make-node-base: needs Debian's busybox-static at /bin/busybox (apt-get install busybox-static)" >&2
  exit 1
fi
# Every library node links, resolved to real files (the image has no merged-/usr symlinks to follow).
mapfile -t libs < <(ldd "$node_bin" | awk '/=>/ && $3 ~ /^\// {print $3} /^\t\/[^ ]+ \(/ {print $1}' | sort -u)
hash=$( (cat "$node_bin" "$busybox" "$0" "$(dirname "$0")/../scripts/lib/rootfs-image.sh"; cat "$npm_dir/package.json"; for l in "${libs[@]}"; do cat "$(readlink -f "$l")"; done) | sha256sum | cut -c1-16)
rootfs_exit_if_current "$image" "$hash"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
rootfs_add_busybox "$root" "$busybox"
mkdir -p "$root"/{usr/local/bin,usr/local/lib/node_modules,etc,home/node,root}
for l in "${libs[@]}"; do
  mkdir -p "$root$(dirname "$l")"
  cp -L "$l" "$root$l"
done
cp "$node_bin" "$root/usr/local/bin/node"
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/home/node:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\n' > "$root/etc/group"
printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"
chown 1000:1000 "$root/home/node"

rootfs_import "$root" "$image" "$hash" \
  'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin' 'CMD ["node"]'
echo "make-node-base: built $image ($hash, node $("$node_bin" --version))"
