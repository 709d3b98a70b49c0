# Sourced by the ensure-* scripts: `apt_install_missing <who> <package>...` installs the given
# Debian packages (none given: nothing to do). As root with apt-get only; otherwise it says what is
# missing and how to install it, and exits 1. A package's own service start failing without systemd
# is expected: the scripts start what they need themselves.
apt_install_missing() {
  local who=$1
  shift
  [ $# -gt 0 ] || return 0
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "$who: missing: $*; install them (Debian: apt-get install $*) and re-run" >&2
    exit 1
  fi
  echo "$who: installing $* from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends $(printf '%s\n' "$@" | sort -u) >/dev/null
}
