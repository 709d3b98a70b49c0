#!/usr/bin/env bash
# Makes the backup tools available for the tests and CI: restic (the backup repository), OpenSSH's
# server (sshd and its internal sftp, the tests' `sftp:` repository) and rclone (`rclone serve
# webdav`, the tests' `rclone:` repository).
#  - All present: report their versions, change nothing.
#  - Otherwise, as root on Debian: install the missing ones with apt-get (restic, openssh-server,
#    rclone). The packages' own service start of sshd fails or is skipped without systemd; that is
#    expected: the tests start their own sshd with their own config, never the system's.
#  - Otherwise: say what is missing and how to install it, exit 1.
# Idempotent: running it again only reports the versions.
set -euo pipefail

say() { echo "ensure-backup-tools: $*" >&2; }
sshd_bin() { command -v sshd 2>/dev/null || { [ -x /usr/sbin/sshd ] && echo /usr/sbin/sshd; } || true; }
need_pkgs=()
command -v restic >/dev/null 2>&1 || need_pkgs+=(restic)
[ -n "$(sshd_bin)" ] || need_pkgs+=(openssh-server)
# The ssh client is what restic's sftp backend runs; Debian's openssh-server depends on it.
command -v ssh >/dev/null 2>&1 || need_pkgs+=(openssh-client)
command -v rclone >/dev/null 2>&1 || need_pkgs+=(rclone)

# shellcheck source=lib/apt-install.sh
source "$(dirname "$0")/lib/apt-install.sh"
apt_install_missing ensure-backup-tools ${need_pkgs[@]+"${need_pkgs[@]}"}

for tool in restic rclone; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    say "$tool is still missing after the install; install it by hand (Debian: apt-get install $tool)"
    exit 1
  fi
done
if [ -z "$(sshd_bin)" ]; then
  say "sshd is still missing after the install; install it by hand (Debian: apt-get install openssh-server)"
  exit 1
fi
say "$(restic version | head -n 1); $(rclone version 2>/dev/null | head -n 1); sshd at $(sshd_bin)"
