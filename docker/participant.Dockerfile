# syntax=docker/dockerfile:1
#
# kpfl participant image (CPU): `kpfl participant` with the native TensorFlow backend
# (@tensorflow/tfjs-node, libtensorflow 2.9.1 CPU), falling back to wasm/cpu under --backend auto.
#
# Build from the repository root:
#   docker build -f docker/participant.Dockerfile -t kpfl-participant .
#
# No secret and no data is baked in: the member kit (identity key, certificate; the consortium HE
# key the participant makes or is sent lands in /kit/he-keys) is mounted at /kit, the member's data
# read-only at /data.

ARG NODE_IMAGE=node:20-bookworm-slim
# Full Debian image for the build: python3, make and g++ in case the tfjs-node binding has to be
# compiled. Same Debian release as the runtime image, so the native binding links the same glibc.
ARG BUILD_IMAGE=node:20-bookworm
# Must equal the locked @tensorflow/tfjs version (tfjs-node registers its backend with that copy).
ARG TFJS_VERSION=4.22.0
# tfjs-node's install script downloads libtensorflow from storage.googleapis.com. Where that host is
# unreachable, build with --build-arg TFJS_NATIVE=none: the image then has no native backend and
# trains on wasm/cpu (--backend auto), as scripts/containers.sh builds it.
ARG TFJS_NATIVE=tfjs-node

FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY packages ./packages
RUN find packages -mindepth 2 -maxdepth 2 ! -name package.json -exec rm -rf {} +

# Dependencies as locked, plus @tensorflow/tfjs-node: its install script downloads libtensorflow
# (this needs network access at build time; it cannot be done offline).
# The npm ci step is word for word the aggregator image's (the ARGs come after it), so that a build
# of both installs the dependencies once and reuses the layer.
FROM ${BUILD_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=manifests /src/packages ./packages
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund
ARG TFJS_VERSION
ARG TFJS_NATIVE
RUN --mount=type=cache,target=/root/.npm \
    if [ "$TFJS_NATIVE" != none ]; then \
      npm install --no-save --no-audit --no-fund "@tensorflow/tfjs-node@${TFJS_VERSION}" \
      && node -e "require('@tensorflow/tfjs-node')"; \
    fi
RUN rm -rf node_modules/@biomejs node_modules/typescript node_modules/@types

FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
COPY --from=deps /app ./
COPY package.json tsconfig.json tsconfig.base.json ./
COPY protos ./protos
COPY packages ./packages
ENV NODE_ENV=production \
    KPFL_KIT=/kit \
    KPFL_DATASET=/data \
    KPFL_HEALTH_FILE=/tmp/kpfl/health
COPY docker/config/participant.yaml /etc/kpfl/participant.yaml
USER node
# The participant serves nothing: it touches KPFL_HEALTH_FILE every 10 s while its event loop runs
# (training yields to the event loop), so a stale file means a hung or dead process.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "try{process.exit(Date.now()-require('fs').statSync(process.env.KPFL_HEALTH_FILE).mtimeMs<60000?0:1)}catch{process.exit(1)}"]
ENTRYPOINT ["node", "--conditions=kpfl-source", "--import", "tsx", "packages/cli/src/main.ts"]
CMD ["participant", "--config", "/etc/kpfl/participant.yaml"]
