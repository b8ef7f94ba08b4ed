# syntax=docker/dockerfile:1
#
# sessions-api container image.
#
#   docker build -t sessions-api:dev .
#   docker run --rm -p 3000:3000 -e NEXTAUTH_SECRET=... \
#     -e OPENCLAW_GATEWAY_URL=http://gateway:18789 -e OPENCLAW_GATEWAY_TOKEN=... sessions-api:dev
#
# Stages: chef (toolchain + cargo-chef) -> planner (dependency recipe) ->
# cacher (builds only the dependencies; cached until Cargo.toml/Cargo.lock
# change) -> builder (the crate itself) -> runtime (distroless, non-root).

ARG RUST_VERSION=1
ARG CARGO_CHEF_VERSION=0.1.78

FROM rust:${RUST_VERSION}-slim-bookworm AS chef
ARG CARGO_CHEF_VERSION
# cargo-chef is a pure-Rust tool; no system packages are needed to build it
# (reqwest uses rustls, so neither does the service: no OpenSSL headers).
RUN cargo install --locked --version "${CARGO_CHEF_VERSION}" cargo-chef \
    && rm -rf "${CARGO_HOME}/registry" "${CARGO_HOME}/git"
WORKDIR /app

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS cacher
COPY --from=planner /app/recipe.json recipe.json
RUN cargo chef cook --release --locked --bin sessions-api --recipe-path recipe.json

FROM chef AS builder
COPY . .
# Reuse the compiled dependencies and the registry from the cacher stage.
COPY --from=cacher /app/target target
COPY --from=cacher /usr/local/cargo /usr/local/cargo
RUN cargo build --release --locked --bin sessions-api \
    && install -D -m 0755 target/release/sessions-api /out/sessions-api

# Runtime: distroless "cc" (glibc + libgcc, no shell, no package manager),
# running as the built-in nonroot user (uid/gid 65532).
# No CA certificate package is needed: reqwest is built with rustls and the
# Mozilla roots compiled in (webpki-roots), so TLS to the gateway works
# without /etc/ssl/certs.
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime

ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="sessions-api" \
      org.opencontainers.image.description="GET /api/sessions for the agent-hosting dashboard: NextAuth/Auth.js cookie auth in front of an OpenClaw gateway" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="gcr.io/distroless/cc-debian12:nonroot"

COPY --from=builder --chown=65532:65532 /out/sessions-api /usr/local/bin/sessions-api

USER 65532:65532
ENV LISTEN_ADDR=0.0.0.0:3000 \
    LOG_FORMAT=json \
    RUST_LOG=info
EXPOSE 3000

# No curl in distroless: the binary probes its own /healthz.
HEALTHCHECK --interval=15s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/sessions-api", "healthcheck"]

ENTRYPOINT ["/usr/local/bin/sessions-api"]
CMD ["serve"]
