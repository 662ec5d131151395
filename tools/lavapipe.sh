#!/usr/bin/env bash
# A software Vulkan (Mesa's lavapipe) for testing the WebGPU backend on a machine without a GPU.
#
# Dawn (the npm package `webgpu`) refuses Debian bookworm's Mesa 22.3 ("Vulkan
# shaderUniform*ArrayDynamicIndexing required"); bookworm-backports' Mesa 25 works. This script
# downloads that lavapipe with apt into .cache/lavapipe/ and unpacks it with `dpkg -x`: nothing is
# installed, the system's apt sources, lists and packages are left as they are (a private sources
# list, lists and archive cache under .cache/). Only Debian's package mirror is needed.
#
# Prints the environment to use, as shell assignments:
#   eval "$(tools/lavapipe.sh)"      # then run node with the WebGPU backend forced
# Messages go to stderr. Debian/Ubuntu on x86_64 or arm64 with apt; run it again any time (cached).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cache="$root/.cache/lavapipe"
suite="${LAVAPIPE_SUITE:-bookworm-backports}"
mirror="${LAVAPIPE_MIRROR:-http://deb.debian.org/debian}"
arch="$(dpkg --print-architecture)"
multiarch="$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch 2>/dev/null || echo "$(uname -m)-linux-gnu")"
unpacked="$cache/root"
libdir="$unpacked/usr/lib/$multiarch"
icd="$cache/lvp_icd.json"

say() { echo "lavapipe: $*" >&2; }

if [ ! -f "$libdir/libvulkan_lvp.so" ]; then
  command -v apt-get >/dev/null || { say "apt-get not found: this script needs Debian or a derivative."; exit 1; }
  mkdir -p "$cache/lists/partial" "$cache/archives/partial" "$cache/debs"
  # bookworm too, so that apt can resolve the backported packages' dependencies.
  printf 'deb %s bookworm main\ndeb %s %s main\n' "$mirror" "$mirror" "$suite" >"$cache/sources.list"
  apt_opts=(
    -o "Dir::Etc::SourceList=$cache/sources.list" -o "Dir::Etc::SourceParts=-"
    -o "Dir::State::Lists=$cache/lists" -o "Dir::Cache=$cache" -o "Dir::Cache::Archives=$cache/archives"
    -o "APT::Sandbox::User=root" -o "APT::Get::List-Cleanup=0"
  )
  say "fetching the package lists of $suite into $cache (private; the system's apt state is not touched)"
  apt-get "${apt_opts[@]}" -qq update >&2
  # lavapipe itself, and the libdrm it was built against (newer than bookworm's 2.4.114).
  packages=(mesa-vulkan-drivers/"$suite" libdrm2/"$suite" libdrm-amdgpu1/"$suite")
  # The Vulkan loader too, when the machine has none.
  if ! ldconfig -p | grep 'libvulkan\.so\.1 ' >/dev/null; then packages+=(libvulkan1); fi
  rm -f "$cache/debs"/*.deb
  (cd "$cache/debs" && apt-get "${apt_opts[@]}" -qq download "${packages[@]}" >&2)
  rm -rf "$unpacked"
  for deb in "$cache/debs"/*.deb; do
    say "unpacking $(basename "$deb")"
    dpkg -x "$deb" "$unpacked"
  done
  [ -f "$libdir/libvulkan_lvp.so" ] || { say "no libvulkan_lvp.so in the unpacked packages under $unpacked"; exit 1; }
  # lavapipe needs LLVM's shared library at the version it was built against.
  missing="$(LD_LIBRARY_PATH="$libdir" ldd "$libdir/libvulkan_lvp.so" | awk '/not found/ {print $1}')"
  if [ -n "$missing" ]; then
    say "libvulkan_lvp.so needs libraries this machine lacks: $missing (install them with apt-get, e.g. libllvm15)"
    exit 1
  fi
fi

# The packaged ICD file names the library without a path; ours names the unpacked one.
api_version="$(sed -n 's/.*"api_version": *"\([^"]*\)".*/\1/p' "$unpacked/usr/share/vulkan/icd.d/lvp_icd.json" | head -n1)"
printf '{"file_format_version": "1.0.0", "ICD": {"library_path": "%s", "api_version": "%s"}}\n' "$libdir/libvulkan_lvp.so" "${api_version:-1.3.0}" >"$icd"

runtime_dir="$cache/xdg-runtime"
mkdir -p "$runtime_dir" && chmod 700 "$runtime_dir"
echo "export VK_ICD_FILENAMES='$icd'"
echo "export LD_LIBRARY_PATH='$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}'"
# Mesa's window-system code complains on every start when this is unset.
echo "export XDG_RUNTIME_DIR='${XDG_RUNTIME_DIR:-$runtime_dir}'"
