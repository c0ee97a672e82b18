#!/usr/bin/env bash
# A software Vulkan driver for WebGPU tests (Dawn from the npm package `webgpu` on Mesa's lavapipe).
# Debian 12's Mesa 22.3 lavapipe is rejected by Dawn; Mesa 25 from Debian's own bookworm-backports
# suite is accepted. Idempotent; prints the driver it ends with. Needs root (or sudo) and apt.
set -euo pipefail
as_root=$([ "$(id -u)" = 0 ] || echo sudo)
if ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 && [ -e /usr/lib/x86_64-linux-gnu/libvulkan.so.1 ] \
  && dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -q '^2[5-9]'; then
  echo "vulkan: lavapipe $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) already installed"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
if [ "$codename" = bookworm ] && ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "deb http://deb.debian.org/debian bookworm-backports main" | $as_root tee /etc/apt/sources.list.d/cnfkit-backports.list >/dev/null
fi
$as_root apt-get update >/dev/null
if [ "$codename" = bookworm ]; then
  $as_root apt-get install -y --no-install-recommends -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
else
  $as_root apt-get install -y --no-install-recommends mesa-vulkan-drivers libvulkan1 >/dev/null
fi
echo "vulkan: lavapipe $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) installed"
