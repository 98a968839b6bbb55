#!/bin/bash
# The Debian 12 packages snapvol needs to build, test and run, and an
# idempotent installer: only missing packages are installed, with sudo only
# when not root. Sourced by demo.sh and test.sh; run it directly to install.
SNAPVOL_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config clang-format
  libssl-dev libsqlite3-dev libprotobuf-dev protobuf-compiler
  libgrpc++-dev protobuf-compiler-grpc
  libfuse3-dev fuse3 libyaml-cpp-dev libseccomp-dev libcurl4-openssl-dev libexpat1-dev
  libcli11-dev nlohmann-json3-dev libspdlog-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  attr openssl bc
  clang-14 libclang-rt-14-dev  # scripts/fuzz.sh: clang and libFuzzer (libclang_rt.fuzzer)
  runc crun podman busybox-static procps  # e2e/oci: OCI runtimes, the containers' rootfs, ps
  ceph-mon ceph-osd radosgw ceph-common  # e2e/s3: a throwaway single-node Ceph RGW (rgw_up.sh)
)
# Only the benchmarks need these: the peers bench/mount_bench.sh compares
# against, and fio. Installed by snapvol_install_bench_deps.
SNAPVOL_BENCH_PACKAGES=(rclone fuse-overlayfs fio)

snapvol_missing_packages() {
  local p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
      echo "$p"
    fi
  done
}

snapvol_install_deps() {
  snapvol_install_packages "${SNAPVOL_PACKAGES[@]}"
}

snapvol_install_bench_deps() {
  snapvol_install_packages "${SNAPVOL_PACKAGES[@]}" "${SNAPVOL_BENCH_PACKAGES[@]}"
}

snapvol_install_packages() {
  local missing
  mapfile -t missing < <(snapvol_missing_packages "$@")
  if [ "${#missing[@]}" -eq 0 ]; then
    echo "deps: all $# packages are installed"
    return 0
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
  echo "deps: installing ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# The one build configuration demo.sh and test.sh share (so neither forces
# the other to reconfigure): Ninja, ccache (found by CMake), warnings as errors.
snapvol_configure() {
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSNAPVOL_WERROR=ON "$@"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  snapvol_install_deps
fi
