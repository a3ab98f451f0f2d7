#!/usr/bin/env bash
# deps.sh: installs what crema's tests need, when it is missing or stale, so
# that `make test` works on a fresh clone. It is idempotent and quiet when
# everything is in place.
#
#   tools/setup/deps.sh npm chromium firefox
#   tools/setup/deps.sh objdump
#
#   npm       `npm ci` when node_modules is absent or older than package-lock.json
#   chromium  Debian's chromium (the browser tests' WebGPU on SwiftShader)
#   firefox   Debian's firefox-esr and mesa-vulkan-drivers (a second WebGPU:
#             Firefox's wgpu needs a Vulkan driver; on a machine without a GPU
#             that is Mesa's lavapipe, whose ICD file the script looks for)
#
# System packages are installed with apt-get when that is possible (root on a
# Debian or Ubuntu machine). Otherwise the script prints one line naming the
# exact command to run, and the variable that points crema at a program
# installed elsewhere, and exits non-zero: a test suite never skips silently
# because a browser or tool is missing.
#
# Environment: CHROMIUM (default /usr/bin/chromium), FIREFOX (default
# /usr/bin/firefox-esr), OBJDUMP (default: objdump on PATH, else
# /usr/bin/objdump), VULKAN_ICDS (default /usr/share/vulkan/icd.d, where
# lavapipe's lvp_icd.*.json is), NPM (default npm), APT_GET (default
# apt-get), CREMA_ROOT (default: the repository holding this script; its tests point it
# elsewhere).
set -euo pipefail
cd "${CREMA_ROOT:-$(dirname "$0")/../..}"

NPM=${NPM:-npm}
APT_GET=${APT_GET:-apt-get}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
FIREFOX=${FIREFOX:-/usr/bin/firefox-esr}
OBJDUMP=${OBJDUMP:-$(command -v objdump || echo /usr/bin/objdump)}
VULKAN_ICDS=${VULKAN_ICDS:-/usr/share/vulkan/icd.d}

say() { echo "deps: $*" >&2; }

# can_apt: root with apt-get, so system packages can be installed here.
can_apt() {
  [ "$(id -u)" = 0 ] && command -v "$APT_GET" >/dev/null 2>&1
}

apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then
    DEBIAN_FRONTEND=noninteractive "$APT_GET" update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive "$APT_GET" install -y -qq --no-install-recommends "$@" >/dev/null
}

# system PATH VAR PACKAGES...: makes the executable PATH exist by installing
# PACKAGES, or explains how to and fails.
system() {
  local path=$1 var=$2
  shift 2
  [ -x "$path" ] && return 0
  if can_apt; then
    say "installing $* (for $path)"
    apt_install "$@"
    [ -x "$path" ] && return 0
    say "installed $* but $path is still missing; set $var to its path"
    exit 1
  fi
  say "$path is missing: run \`sudo apt-get install $*\` (or set $var=/path/to/$(basename "$path"))"
  exit 1
}

# lavapipe: Mesa's CPU Vulkan driver, which Firefox's WebGPU runs on where
# there is no GPU (a GPU's own Vulkan driver would do as well, but
# mesa-vulkan-drivers is what makes the tests run anywhere).
lavapipe() {
  compgen -G "$VULKAN_ICDS/lvp_icd.*.json" >/dev/null && return 0
  if can_apt; then
    say "installing mesa-vulkan-drivers (for lavapipe, $VULKAN_ICDS/lvp_icd.*.json)"
    apt_install mesa-vulkan-drivers
    compgen -G "$VULKAN_ICDS/lvp_icd.*.json" >/dev/null && return 0
    say "installed mesa-vulkan-drivers but $VULKAN_ICDS has no lvp_icd.*.json; set VULKAN_ICDS to where it is"
    exit 1
  fi
  say "$VULKAN_ICDS has no lavapipe (lvp_icd.*.json): run \`sudo apt-get install mesa-vulkan-drivers\` (or set VULKAN_ICDS)"
  exit 1
}

npm_packages() {
  if ! command -v "$NPM" >/dev/null 2>&1; then
    say "npm is missing: install Node.js (20 or later) with npm, e.g. \`sudo apt-get install nodejs npm\`"
    exit 1
  fi
  local stamp=node_modules/.package-lock.json
  if [ -f "$stamp" ] && [ ! package-lock.json -nt "$stamp" ]; then
    return 0
  fi
  say "npm ci (node_modules is $([ -d node_modules ] && echo 'older than package-lock.json' || echo 'absent'))"
  "$NPM" ci --no-audit --no-fund --loglevel=error >&2
  touch "$stamp"
}

for what in "$@"; do
  case "$what" in
  npm) npm_packages ;;
  chromium) system "$CHROMIUM" CHROMIUM chromium ;;
  objdump) system "$OBJDUMP" OBJDUMP binutils ;;
  firefox)
    system "$FIREFOX" FIREFOX firefox-esr mesa-vulkan-drivers
    lavapipe
    ;;
  *)
    say "unknown component $what (want npm, chromium, firefox or objdump)"
    exit 2
    ;;
  esac
done
