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
  mkdir -p "$cache/lists/partial" "$cache/archives/partial" "$cache/debs" "$cache/sources.list.d"
  # bookworm too, so that apt can resolve the backported packages' dependencies.
  printf 'deb %s bookworm main\ndeb %s %s main\n' "$mirror" "$mirror" "$suite" >"$cache/sources.list"
  apt_opts=(
    -o "Dir::Etc::SourceList=$cache/sources.list" -o "Dir::Etc::SourceParts=$cache/sources.list.d"
    -o "Dir::State::Lists=$cache/lists" -o "Dir::Cache=$cache" -o "Dir::Cache::Archives=$cache/archives"
    -o "APT::Sandbox::User=root" -o "APT::Get::List-Cleanup=0"
  )
  say "fetching the package lists of $suite into $cache (private; the system's apt state is not touched)"
  apt-get "${apt_opts[@]}" -qq update >&2
  # lavapipe itself, and the libdrm it was built against (newer than bookworm's 2.4.114); the
  # backports' version of each when there is one.
  apt_opts+=(-o "APT::Default-Release=$suite")
  packages=(mesa-vulkan-drivers libdrm2 libdrm-amdgpu1)
  # And what they need that this machine lacks (LLVM, the Vulkan loader, …), three levels deep.
  installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }
  depends() { apt-cache "${apt_opts[@]}" depends --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces --no-enhances "$1" | awk '$1 ~ /^\|?(Pre)?Depends:$/ && $2 !~ /^</ {print $2}'; }
  wanted=" ${packages[*]} "
  level=("${packages[@]}")
  for _ in 1 2 3; do
    next=()
    for p in "${level[@]}"; do
      for d in $(depends "$p"); do
        case "$wanted" in *" $d "*) continue ;; esac
        installed "$d" && continue
        wanted+="$d "
        next+=("$d")
      done
    done
    [ ${#next[@]} -eq 0 ] && break
    packages+=("${next[@]}")
    level=("${next[@]}")
  done
  rm -f "$cache/debs"/*.deb
  say "downloading ${packages[*]}"
  (cd "$cache/debs" && apt-get "${apt_opts[@]}" -qq download "${packages[@]}" >&2)
  rm -rf "$unpacked"
  for deb in "$cache/debs"/*.deb; do
    say "unpacking $(basename "$deb")"
    dpkg -x "$deb" "$unpacked"
  done
  [ -f "$libdir/libvulkan_lvp.so" ] || { say "no libvulkan_lvp.so in the unpacked packages under $unpacked"; exit 1; }
  missing="$(LD_LIBRARY_PATH="$libdir" ldd "$libdir/libvulkan_lvp.so" | awk '/not found/ {print $1}')"
  if [ -n "$missing" ]; then
    say "libvulkan_lvp.so needs libraries that are neither on this machine nor unpacked: $missing"
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
