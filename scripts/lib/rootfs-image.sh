# Shared by test/stack/build-images.sh and docker/make-node-base.sh: images made without a registry
# by `docker import` of a root filesystem built around Debian's busybox-static. Source it.

# Exits the calling script successfully when $1 already carries the inputs' hash $2 as its label.
rootfs_exit_if_current() {
  local current
  current=$(docker image inspect --format '{{ index .Config.Labels "doom-ops.hash" }}' "$1" 2>/dev/null || true)
  if [ "$current" = "$2" ]; then
    echo "$(basename "$0" .sh): $1 is up to date ($2)"
    exit 0
  fi
}

# Puts busybox at /bin/busybox of root $1 with a symlink for every applet (sh, ls, wget, …).
rootfs_add_busybox() {
  local busybox=$2 applet
  mkdir -p "$1"/{bin,sbin,usr/bin,usr/sbin,tmp}
  cp "$busybox" "$1/bin/busybox"
  "$busybox" --list-full | while read -r applet; do
    [ "$applet" = bin/busybox ] || ln -sf /bin/busybox "$1/$applet"
  done
  chmod 1777 "$1/tmp"
}

# Prints the shared libraries binaries $@ link, as `ldd` resolves them (the loader included), one per
# line, sorted; nothing for a static binary ("not a dynamic executable").
rootfs_libs() {
  local b
  for b in "$@"; do ldd "$b" 2>/dev/null || true; done |
    awk '/=>/ && $3 ~ /^\// {print $3} /^\t\/[^ ]+ \(/ {print $1}' | sort -u
}

# Copies libraries $2… into root $1 at the same paths, as real files (the image has no merged-/usr
# symlinks to follow).
rootfs_add_libs() {
  local root=$1 l
  shift
  for l in "$@"; do
    mkdir -p "$root$(dirname "$l")"
    cp -L "$l" "$root$l"
  done
}

# Imports root $1 as image $2 labelled with hash $3 and with doom-ops.build=$DOOM_OPS_BUILD_ID (default
# `local`; the tests set their run's id and remove what they built); further arguments are
# `docker import --change`s.
rootfs_import() {
  local root=$1 image=$2 hash=$3 changes=()
  shift 3
  for c in "$@"; do changes+=(--change "$c"); done
  tar -C "$root" -c . | docker import "${changes[@]}" --change "LABEL doom-ops.hash=$hash" \
    --change "LABEL doom-ops.build=${DOOM_OPS_BUILD_ID:-local}" - "$image" >/dev/null
}
