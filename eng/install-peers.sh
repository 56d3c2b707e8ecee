#!/usr/bin/env bash
# Installs, when missing, the real NBD peers the tests and the main job talk to:
# nbdkit, libnbd-bin (nbdinfo, nbdcopy), qemu-utils (qemu-img, qemu-nbd, qemu-io), nbd-server,
# fdisk (sfdisk) and gdisk (sgdisk) for partition tables made and checked in the guest-layout tests,
# dnsmasq (dnsmasq-base) as the DNS server whose TTLs the cutover pre-checks read.
set -euo pipefail
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v nbdkit     >/dev/null 2>&1 || missing+=(nbdkit)
command -v nbdinfo    >/dev/null 2>&1 || missing+=(libnbd-bin)
command -v nbdcopy    >/dev/null 2>&1 || missing+=(libnbd-bin)
command -v qemu-img   >/dev/null 2>&1 || missing+=(qemu-utils)
command -v qemu-nbd   >/dev/null 2>&1 || missing+=(qemu-utils)
command -v qemu-io    >/dev/null 2>&1 || missing+=(qemu-utils)
command -v nbd-server >/dev/null 2>&1 || [ -x /usr/bin/nbd-server ] || missing+=(nbd-server)
command -v sfdisk     >/dev/null 2>&1 || [ -x /usr/sbin/sfdisk ] || missing+=(fdisk)
command -v sgdisk     >/dev/null 2>&1 || [ -x /usr/sbin/sgdisk ] || missing+=(gdisk)
command -v dnsmasq    >/dev/null 2>&1 || [ -x /usr/sbin/dnsmasq ] || missing+=(dnsmasq-base)
if [ ${#missing[@]} -gt 0 ]; then
  packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  echo "install-peers: installing $packages" >&2
  as_root apt-get update -qq
  # shellcheck disable=SC2086
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >&2
fi
for tool in nbdkit nbdinfo nbdcopy qemu-img qemu-nbd qemu-io; do
  command -v "$tool" >/dev/null 2>&1 || { echo "install-peers: $tool is still missing after the install step" >&2; exit 1; }
done
