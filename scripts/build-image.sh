#!/usr/bin/env bash
# Builds the doom-ops image on a machine whose containers cannot reach a registry: makes the Node
# base image from this machine's node and restic (docker/make-node-base.sh) and hands the build npm's cache,
# filled by the host's own `npm ci`, so the build stage's `npm ci --offline` finds every package
# of the lockfile there. Usage: scripts/build-image.sh [image-tag]   (default doom-ops:local)
# Every image the build makes (the build stage too) carries the label doom-ops.build=$DOOM_OPS_BUILD_ID
# (default `local`), so they can be found and removed: the tests set it to their run's id.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-doom-ops:local}
base=doom-ops/node-base:20
bash docker/make-node-base.sh "$base"

cache=$(npm config get cache)
if ! [ -d "$cache/_cacache" ]; then
  echo "build-image: npm's cache ($cache) is empty; run \`npm ci\` first" >&2
  exit 1
fi
trap 'find docker/npm-cache -mindepth 1 ! -name .gitkeep -delete' EXIT
find docker/npm-cache -mindepth 1 ! -name .gitkeep -delete
# Hard links when the cache is on the same filesystem (instant), a copy otherwise.
cp -al "$cache/_cacache" docker/npm-cache/ 2>/dev/null || cp -a "$cache/_cacache" docker/npm-cache/
docker build --network none --build-arg NODE_IMAGE="$base" --build-arg BUILD_ID="${DOOM_OPS_BUILD_ID:-local}" -t "$tag" .
echo "build-image: built $tag"
