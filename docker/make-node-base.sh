#!/usr/bin/env bash
# Makes a minimal Node.js base image from this machine's own files, for building doom-ops's image
# where no registry is reachable (on a machine that reaches Docker Hub, node:20-bookworm-slim does
# the same job: pass --build-arg NODE_IMAGE=node:20-bookworm-slim to docker build instead).
#
# Contents: the host's `node` binary and npm, the host's `restic` (what backups are written with;
# Debian's build links glibc dynamically, so it is not a static binary) at /usr/bin/restic, the
# shared libraries `ldd` says either needs (the official Linux node build links only glibc and
# libstdc++), the host's CA bundle (for restic's https backends: rest:, s3:, …), Debian's
# busybox-static for /bin/sh and the usual utilities, and a `node` user (uid 1000) as in the
# official image. Rebuilt only when its inputs change (their hash is an image label).
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
restic_bin=$(command -v restic || true)
if [ -z "$restic_bin" ]; then
  echo "make-node-base: needs restic on this machine (apt-get install restic, or bash scripts/ensure-backup-tools.sh)" >&2
  exit 1
fi
restic_bin=$(readlink -f "$restic_bin")
ca_bundle=/etc/ssl/certs/ca-certificates.crt
[ -f "$ca_bundle" ] || ca_bundle=
# Every library node and restic link, resolved to real files (the image has no merged-/usr symlinks
# to follow). A static restic has none (ldd then says "not a dynamic executable").
mapfile -t libs < <(rootfs_libs "$node_bin" "$restic_bin")
hash=$( (cat "$node_bin" "$busybox" "$restic_bin" ${ca_bundle:+"$ca_bundle"} "$0" "$(dirname "$0")/../scripts/lib/rootfs-image.sh"; cat "$npm_dir/package.json"; for l in "${libs[@]}"; do cat "$(readlink -f "$l")"; done) | sha256sum | cut -c1-16)
rootfs_exit_if_current "$image" "$hash"

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
rootfs_add_busybox "$root" "$busybox"
mkdir -p "$root"/{usr/local/bin,usr/local/lib/node_modules,etc,home/node,root}
rootfs_add_libs "$root" "${libs[@]}"
cp "$node_bin" "$root/usr/local/bin/node"
cp "$restic_bin" "$root/usr/bin/restic"
chmod 0755 "$root/usr/bin/restic"
if [ -n "$ca_bundle" ]; then
  mkdir -p "$root/etc/ssl/certs"
  cp "$ca_bundle" "$root/etc/ssl/certs/ca-certificates.crt"
fi
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/home/node:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\n' > "$root/etc/group"
printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"
chown 1000:1000 "$root/home/node"

rootfs_import "$root" "$image" "$hash" \
  'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin' 'CMD ["node"]'
echo "make-node-base: built $image ($hash, node $("$node_bin" --version), $("$restic_bin" version | cut -d' ' -f1-2))"
