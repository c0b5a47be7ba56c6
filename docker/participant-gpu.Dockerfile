# syntax=docker/dockerfile:1
#
# kpfl participant image for NVIDIA GPUs: `kpfl participant --backend tensorflow-gpu`.
#
# @tensorflow/tfjs-node-gpu 4.22.0 loads libtensorflow 2.9.1 (GPU build), which needs
#   CUDA 11.2 (libcudart.so.11.0, libcublas.so.11, ...), cuDNN 8.1 (libcudnn.so.8),
#   and on the host: an NVIDIA driver >= 450.80.02 plus the NVIDIA Container Toolkit
#   (`docker run --gpus all`, or `deploy.resources.reservations.devices` in compose).
# CUDA 12 does not work: libtensorflow 2.9 looks for the CUDA 11 sonames.
#
# Build from the repository root:
#   docker build -f docker/participant-gpu.Dockerfile -t kpfl-participant-gpu .
# If NVIDIA has retired the 11.2.2 tag from Docker Hub, pass another CUDA 11.x + cuDNN 8 runtime
# image, e.g. --build-arg CUDA_IMAGE=nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04 (CUDA 11 minor
# version compatibility keeps the sonames; not the tested TF 2.9 combination).

ARG CUDA_IMAGE=nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04
ARG NODE_IMAGE=node:20-bookworm-slim
ARG TFJS_VERSION=4.22.0

# Node.js 20 comes from the official image (its binary needs glibc >= 2.28; Ubuntu 20.04 has 2.31).
FROM ${NODE_IMAGE} AS node

FROM ${CUDA_IMAGE} AS base
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/sh --create-home node \
 && node --version

FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY packages ./packages
RUN find packages -mindepth 2 -maxdepth 2 ! -name package.json -exec rm -rf {} +

# Built on the CUDA base itself, so the native binding links the runtime image's glibc.
# tfjs-node-gpu's install script downloads the GPU libtensorflow (network needed at build time;
# no GPU is needed to build).
FROM base AS deps
ARG TFJS_VERSION
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=manifests /src/packages ./packages
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund \
 && npm install --no-save --no-audit --no-fund "@tensorflow/tfjs-node-gpu@${TFJS_VERSION}" \
 && rm -rf node_modules/@biomejs node_modules/typescript node_modules/@types

FROM base AS runtime
ENV NODE_ENV=production \
    KPFL_KIT=/kit \
    KPFL_DATASET=/data \
    KPFL_HEALTH_FILE=/tmp/kpfl/health \
    KPFL_BACKEND=tensorflow-gpu \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
WORKDIR /app
COPY --from=deps /app ./
COPY package.json tsconfig.json tsconfig.base.json ./
COPY protos ./protos
COPY packages ./packages
COPY docker/config/participant.yaml /etc/kpfl/participant.yaml
USER node
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
  CMD ["node", "-e", "try{process.exit(Date.now()-require('fs').statSync(process.env.KPFL_HEALTH_FILE).mtimeMs<60000?0:1)}catch{process.exit(1)}"]
ENTRYPOINT ["node", "--conditions=kpfl-source", "--import", "tsx", "packages/cli/src/main.ts"]
CMD ["participant", "--config", "/etc/kpfl/participant.yaml"]
