# snapvol driver image: snapvol-driver (CSI, controller and node plugin), the
# snapvol-mount server and the snapvol CLI, on Debian 12. Built from this source tree with Debian's
# packages only (no downloads at build time besides apt):
#
#   docker build -t snapvol/snapvol:0.1.0 .
#   kind load docker-image snapvol/snapvol:0.1.0     # for a kind cluster
#
# Runtime needs: libfuse3 and fuse3 (fusermount3), the shared libraries of
# gRPC, protobuf, SQLite, OpenSSL, yaml-cpp, libseccomp and curl.

FROM debian:12-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config ccache \
      libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler \
      libfuse3-dev libyaml-cpp-dev libseccomp-dev libssl-dev libsqlite3-dev \
      libcurl4-openssl-dev libcli11-dev nlohmann-json3-dev libspdlog-dev libgtest-dev \
      libgmock-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DSNAPVOL_TESTS=OFF -DSNAPVOL_BENCH=OFF \
    && ninja -C /build snapvol snapvol-driver snapvol-mount \
    && strip --strip-debug /build/driver/cmd/snapvol /build/driver/cmd/snapvol-driver \
         /build/driver/fs/snapvol-mount

FROM debian:12-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      fuse3 libfuse3-3 libgrpc++1.51 libprotobuf32 libsqlite3-0 libssl3 \
      libyaml-cpp0.7 libseccomp2 libcurl4 libspdlog1.10 ca-certificates \
    && rm -rf /var/lib/apt/lists/*
# snapvol-mount (the FUSE mount server) sits next to snapvol-driver, where
# the driver's mount helper looks for it.
COPY --from=build /build/driver/cmd/snapvol /build/driver/cmd/snapvol-driver \
     /build/driver/fs/snapvol-mount /usr/local/bin/
# The CSI socket directory and the default store/state location.
VOLUME ["/csi", "/var/lib/snapvol"]
ENTRYPOINT ["/usr/local/bin/snapvol-driver"]
CMD ["--help"]
