#!/usr/bin/env bash
# Installs, when missing, the real NBD peers the tests and the main job talk to:
# nbdkit, libnbd-bin (nbdinfo, nbdcopy), qemu-utils (qemu-img, qemu-nbd, qemu-io), nbd-server;
# zstd and xz-utils, which make the compressed archives the container tests read.
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
command -v zstd       >/dev/null 2>&1 || missing+=(zstd)
command -v xz         >/dev/null 2>&1 || missing+=(xz-utils)
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-peers: installing nbdkit libnbd-bin qemu-utils nbd-server zstd xz-utils (missing: ${missing[*]})" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nbdkit libnbd-bin qemu-utils nbd-server zstd xz-utils >&2
fi
for tool in nbdkit nbdinfo nbdcopy qemu-img qemu-nbd qemu-io zstd xz; do
  command -v "$tool" >/dev/null 2>&1 || { echo "install-peers: $tool is still missing after the install step" >&2; exit 1; }
done
