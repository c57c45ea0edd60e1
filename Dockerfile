# syntax=docker/dockerfile:1
# The modelspec image: `docker build -t registry.example.invalid/modelspec:0.1.0 .`
# (examples/deploy/README.md). Runs `modelspec scan --demo` by default; the Kubernetes
# manifests in examples/deploy/kubernetes/ run real scans with the privileges they need.

# Build: the toolchain of rust-toolchain.toml (1.95), the locked dependency versions. The cache
# mounts keep the registry and target folder between builds (BuildKit).
FROM rust:1.95-trixie AS build
# .git is not sent to the builder: pass the commit for reports' provenance
# (`docker build --build-arg MODELSPEC_GIT_COMMIT=$(git rev-parse HEAD) ...`).
ARG MODELSPEC_GIT_COMMIT=
ENV MODELSPEC_GIT_COMMIT=${MODELSPEC_GIT_COMMIT}
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin modelspec \
    && install -D -m 0755 target/release/modelspec /out/modelspec

# Run: a slim Debian of the same release as the builder (same glibc). ca-certificates for https
# endpoints and Prometheus servers (the platform's roots). A shell stays: the DaemonSet loops in
# it. libnvidia-ml is not in the image; the NVIDIA container runtime mounts the node's.
FROM debian:trixie-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/modelspec /usr/local/bin/modelspec
# Non-root by default: enough for --demo, --facts and validate. Node scans need to read other
# processes' /proc entries; the manifests say how (examples/deploy/kubernetes/README.md).
USER 65532:65532
ENTRYPOINT ["modelspec"]
CMD ["scan", "--demo"]
