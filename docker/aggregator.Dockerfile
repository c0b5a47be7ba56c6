# syntax=docker/dockerfile:1
#
# kpfl coordinator image. One image, several roles (the command picks one):
#   kpfl aggregator --config /etc/kpfl/aggregator.yaml   gRPC front end (default command)
#   kpfl worker --config /etc/kpfl/worker.yaml           round worker (opening rounds, deadlines, aggregation)
#   kpfl coordinator init | members | rounds | audit ...  operator commands
#
# Build from the repository root:
#   docker build -f docker/aggregator.Dockerfile -t kpfl-aggregator .
#
# No secret is baked in: the coordinator kit is mounted read-only at /kit, DATABASE_URL comes from
# the environment. The aggregator never loads tfjs models; no native tfjs backend is installed.

ARG NODE_IMAGE=node:20-bookworm-slim

# 1. Only the package manifests, so that the dependency layer is rebuilt only when they change.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY packages ./packages
RUN find packages -mindepth 2 -maxdepth 2 ! -name package.json -exec rm -rf {} +

# 2. Dependencies, exactly as locked. tsx is listed as a devDependency but is the runtime loader
#    (docs/adr/0001: sources run through tsx, no build step), so dev dependencies are installed
#    and only the build-time tools are removed.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=manifests /src/packages ./packages
#    The npm ci step is word for word the participant image's, so that a build of both (as
#    scripts/containers.sh does) installs the dependencies once and reuses the layer.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund
RUN rm -rf node_modules/@biomejs node_modules/typescript node_modules/@types

# 3. Runtime: node_modules + sources, non-root.
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
COPY --from=deps /app ./
COPY package.json tsconfig.json tsconfig.base.json ./
COPY protos ./protos
COPY packages ./packages
ENV NODE_ENV=production \
    KPFL_METRICS_PORT=9464 \
    KPFL_KIT=/kit
COPY docker/config/aggregator.yaml docker/config/worker.yaml /etc/kpfl/
USER node
EXPOSE 50051 9464
# /healthz on the metrics port (served by `kpfl aggregator` when metricsPort is set; the image sets
# KPFL_METRICS_PORT). The worker service has no HTTP server: compose overrides this check for it.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.KPFL_METRICS_PORT||9464)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "--conditions=kpfl-source", "--import", "tsx", "packages/cli/src/main.ts"]
CMD ["aggregator", "--config", "/etc/kpfl/aggregator.yaml"]
