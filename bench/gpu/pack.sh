#!/usr/bin/env bash
# Prepares bench/gpu/carry (git-ignored), what travels with the working tree to the lent GPU
# machine for bench/gpu/run.sh: that machine has LibTorch (its PyTorch), CMake, ninja and nvcc but
# none of the Debian libraries the LibTorch core build needs besides LibTorch, and no network.
#   carry/deps: yaml-cpp, nlohmann-json, spdlog and fmt from Debian 12, unpacked with dpkg -x
#               (headers, shared objects and relocatable CMake configs, about 6 MB);
#   carry/bin:  with --prebuilt BUILD_DIR, that build's gpu_cram_bench and reference_forward_tool
#               (stripped), which run.sh uses when they load there and builds its own otherwise.
#   bash bench/gpu/pack.sh [--prebuilt build/gpu-rehearse]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
carry="$here/bench/gpu/carry"
packages=(libyaml-cpp-dev libyaml-cpp0.7 nlohmann-json3-dev libspdlog-dev libspdlog1.10 libfmt-dev libfmt9)

rm -rf "$carry/deps"
mkdir -p "$carry/deps"
debs=$(mktemp -d)
chmod 755 "$debs"  # apt-get download hands the files to its _apt user
(cd "$debs" && apt-get download "${packages[@]}" >/dev/null)
for deb in "$debs"/*.deb; do
  dpkg -x "$deb" "$carry/deps"
done
rm -rf "$debs" "$carry/deps/usr/share/doc" "$carry/deps/usr/share/lintian"
echo "pack: carry/deps holds ${packages[*]} ($(du -sh "$carry/deps" | cut -f1))"

if [ "${1:-}" = "--prebuilt" ]; then
  build=${2:?--prebuilt BUILD_DIR}
  rm -rf "$carry/bin"
  mkdir -p "$carry/bin"
  for tool in bench/gpu_cram_bench tests/reference/reference_forward_tool bench/reference_forward_tool; do
    if [ -x "$build/$tool" ]; then
      strip -o "$carry/bin/$(basename "$tool")" "$build/$tool"
    fi
  done
  [ -x "$carry/bin/gpu_cram_bench" ] && [ -x "$carry/bin/reference_forward_tool" ] ||
    { echo "pack: $build lacks gpu_cram_bench or reference_forward_tool" >&2; exit 1; }
  echo "pack: carry/bin holds the programs of $build ($(du -sh "$carry/bin" | cut -f1))"
fi
# The device gets a copy of the working tree, maybe without .git: the figures name this commit.
echo "$(git -C "$here" rev-parse --short HEAD)$(git -C "$here" diff --quiet HEAD || echo ' (with local changes)')" \
  > "$carry/commit.txt"
echo "pack: bench/gpu/carry is $(du -sh "$carry" | cut -f1); name it in the device call's carry"
