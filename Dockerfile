# syntax=docker/dockerfile:1
#
# Knooppunt as a container image: `make image`, or
#   docker build -t knooppunt .
#
# Both stages are Debian bookworm: the binary links the libxml2 it was built
# against (2.9 series, the one the xsd package's arena was verified with), so
# the runtime must carry the same release. The image runs as an unprivileged
# user, keeps everything it writes under /var/lib/knooppunt (a volume), and
# serves /healthz, /readyz and /metrics on a plain-HTTP admin port that the
# HEALTHCHECK and a Prometheus scraper use.

FROM golang:1.26-bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libxml2-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=1 go build -trimpath -ldflags='-s -w' -o /out/knooppunt ./cmd/knooppunt

FROM debian:bookworm-slim AS runtime
# libxml2 is the one library the binary needs beyond libc; ca-certificates
# lets it verify the servers it calls (NATS over TLS, push delivery).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libxml2 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 knooppunt \
 && useradd --system --uid 10001 --gid knooppunt --home-dir /var/lib/knooppunt --shell /usr/sbin/nologin knooppunt \
 && install -d -o knooppunt -g knooppunt -m 0700 /var/lib/knooppunt \
 && install -d -m 0755 /etc/knooppunt
COPY --from=build /out/knooppunt /usr/local/bin/knooppunt

# Everything the switch writes is under /var/lib/knooppunt: the store
# (Pebble, in data), the audit trail (data.audit), the key file (data.keys)
# and the insight state. Keep the key file on another volume (--key-file)
# where this one is backed up (docs/security.md).
VOLUME ["/var/lib/knooppunt"]
USER 10001:10001
WORKDIR /var/lib/knooppunt

# 8443: the API (mutual TLS). 8081: /healthz, /readyz, /metrics in plain
# HTTP, for probes and Prometheus only: do not publish it beyond them.
EXPOSE 8443 8081
ENV KNOOPPUNT_ADMIN_PORT=8081

# The slim image has no curl or wget; bash's /dev/tcp speaks the one
# request the probe needs to the admin port (plain HTTP, so the API's
# mutual TLS is no obstacle). Liveness only: readiness (/readyz) is for
# the load balancer, which must stop sending, not restart the container.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${KNOOPPUNT_ADMIN_PORT} && printf 'GET /healthz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]

ENTRYPOINT ["/usr/local/bin/knooppunt"]
# Production by default: mount the registry and the TLS files under
# /etc/knooppunt (registry.yaml, tls/server.crt, tls/server.key,
# tls/client-ca.crt). For a demo: docker run … knooppunt serve --dev --addr 0.0.0.0:8443 --admin-addr 0.0.0.0:8081
CMD ["serve", \
     "--addr", "0.0.0.0:8443", \
     "--admin-addr", "0.0.0.0:8081", \
     "--data", "/var/lib/knooppunt/data", \
     "--config", "/etc/knooppunt/registry.yaml", \
     "--tls-cert", "/etc/knooppunt/tls/server.crt", \
     "--tls-key", "/etc/knooppunt/tls/server.key", \
     "--client-ca", "/etc/knooppunt/tls/client-ca.crt", \
     "--log-format", "json"]
