#!/usr/bin/env bash
# Installs, when missing, the real NBD peers the tests and the main job talk to:
# nbdkit, libnbd-bin (nbdinfo, nbdcopy), qemu-utils (qemu-img, qemu-nbd, qemu-io), nbd-server,
# fdisk (sfdisk) and gdisk (sgdisk) for partition tables made and checked in the guest-layout tests,
# dnsmasq (dnsmasq-base) as the DNS server whose TTLs the cutover pre-checks read;
# zstd and xz-utils, which make the compressed archives the container tests read;
# clang and zlib1g-dev, with which eng/publish-cli.sh links the native-AOT whitesky-migrate that the CLI tests
# also run; and s3rver (npm) for the S3 tests.
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
command -v zstd       >/dev/null 2>&1 || missing+=(zstd)
command -v xz         >/dev/null 2>&1 || missing+=(xz-utils)
command -v clang      >/dev/null 2>&1 || missing+=(clang)
[ -e /usr/include/zlib.h ] || missing+=(zlib1g-dev)
if [ ${#missing[@]} -gt 0 ]; then
  packages=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  echo "install-peers: installing $packages" >&2
  as_root apt-get update -qq
  # shellcheck disable=SC2086
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >&2
fi
for tool in nbdkit nbdinfo nbdcopy qemu-img qemu-nbd qemu-io zstd xz clang; do
  command -v "$tool" >/dev/null 2>&1 || { echo "install-peers: $tool is still missing after the install step" >&2; exit 1; }
done

# s3rver (npm), the S3 peer of the OVF-via-S3 tests, into .peers/node_modules of the repo.
peers_dir="$(cd "$(dirname "$0")/.." && pwd)/.peers"
if [ ! -f "$peers_dir/node_modules/s3rver/bin/s3rver.js" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "install-peers: installing nodejs and npm (for s3rver)" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >&2
  fi
  echo "install-peers: installing s3rver into $peers_dir" >&2
  mkdir -p "$peers_dir"
  npm install --prefix "$peers_dir" --no-audit --no-fund --silent s3rver@3.7.1 >&2
fi
[ -f "$peers_dir/node_modules/s3rver/bin/s3rver.js" ] || { echo "install-peers: s3rver is still missing after the install step" >&2; exit 1; }
