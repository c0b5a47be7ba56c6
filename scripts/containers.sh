#!/usr/bin/env bash
# Builds kpfl's images and runs docker/compose.yaml with a real engine on a machine that has no
# image registry (docs/deploy.md, "Running the images on a machine without a registry").
#
#   scripts/containers.sh engine        install what is missing, start dockerd, make the base image,
#                                       run one container; exit 3 if no engine can start one
#   scripts/containers.sh build [gpu]   build kpfl-aggregator, kpfl-participant and the local
#                                       Postgres and Redis images (gpu: also try the GPU image)
#   scripts/containers.sh up DIR        lay out a deployment in DIR (kits, .env, override), enroll
#                                       alice and bob, `docker compose up -d`, wait until healthy
#   scripts/containers.sh compose DIR … `docker compose …` for the deployment in DIR
#   scripts/containers.sh wait DIR      wait until every long-running container is healthy
#   scripts/containers.sh clean DIR     `docker compose down -v` and remove DIR
#   scripts/containers.sh run           all of it: engine, build, up, 2 rounds over mutual TLS, clean
#
# What makes containers run here (no CAP_SYS_RESOURCE, no registry): dockerd 20.10 from Debian,
# whose OCI spec sets no process.rlimits, so runc never calls setrlimit; images built by buildah
# with --isolation chroot (its RUN steps set no rlimits and need no cgroup), because BuildKit
# must pull the docker/dockerfile:1 frontend named by the Dockerfiles' syntax line; the images are
# then copied into dockerd. Base images are made with debootstrap plus this host's Node 20.
#
# Progress goes to stderr; `build` prints one JSON line per image on stdout.
# Environment: KPFL_CONTAINER_CACHE (default /var/cache/kpfl-containers), DEBIAN_MIRROR.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${KPFL_CONTAINER_CACHE:-/var/cache/kpfl-containers}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
NO_ENGINE=3
mkdir -p "$CACHE"

say() { printf '[containers] %s\n' "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}
no_engine() {
  echo "no container engine can start: $*"
  say "no container engine can start: $*"
  exit "$NO_ENGINE"
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------------------------------------
# Tools: Debian's packages. Compose v2 is not in bookworm: its plugin comes from Debian trixie's
# docker-compose package (a static Go binary; apt-get download with a private source list, so the
# system's sources are untouched).
ensure_tools() {
  local need=()
  command -v dockerd >/dev/null || need+=(docker.io)
  command -v containerd >/dev/null || need+=(containerd)
  command -v runc >/dev/null || need+=(runc)
  command -v iptables >/dev/null || need+=(iptables)
  command -v buildah >/dev/null || need+=(buildah)
  command -v podman >/dev/null || need+=(podman)
  command -v debootstrap >/dev/null || need+=(debootstrap)
  if [ ${#need[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || no_engine "missing ${need[*]} and not root to install them"
    say "installing ${need[*]}"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}") \
      >"$CACHE/apt.log" 2>&1 || no_engine "apt-get install ${need[*]} failed (see $CACHE/apt.log)"
  fi
  if ! docker compose version >/dev/null 2>&1; then
    say 'installing the docker compose v2 plugin (Debian trixie docker-compose)'
    local t="$CACHE/trixie"
    mkdir -p "$t/lists/partial" "$t/archives/partial"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR trixie main" >"$t/sources.list"
    local o=(-o "Dir::Etc::sourcelist=$t/sources.list" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$t/lists"
      -o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root)
    (cd "$t" && apt-get "${o[@]}" update -qq && apt-get "${o[@]}" download docker-compose) >"$CACHE/compose-install.log" 2>&1 &&
      dpkg -i "$t"/docker-compose_*.deb >>"$CACHE/compose-install.log" 2>&1 ||
      no_engine "could not install docker compose v2 (see $CACHE/compose-install.log)"
    docker compose version >/dev/null 2>&1 || no_engine 'docker compose v2 does not run'
  fi
}

ensure_dockerd() {
  if docker info >/dev/null 2>&1; then return; fi
  [ "$(id -u)" = 0 ] || no_engine 'dockerd is not running and this is not root'
  say "starting dockerd (log: $CACHE/dockerd.log)"
  setsid dockerd >"$CACHE/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 60); do
    docker info >/dev/null 2>&1 && return
    sleep 0.5
  done
  no_engine "dockerd did not start: $(tail -n 3 "$CACHE/dockerd.log" | tr '\n' ' ')"
}

# ---------------------------------------------------------------------------------------------
# The base image: Debian bookworm minbase plus this host's Node 20 where the official node image
# has it (/usr/local/bin/node, /usr/local/lib/node_modules/npm), a `node` user (uid 1000) and
# policy-rc.d (no service starts at install), and this host's CA bundle, so that npm and apt inside
# a build trust what the host trusts (a TLS-inspecting egress proxy's CA, for one; NODE_EXTRA_CA_CERTS
# points node at it). Cached by a hash of its inputs.
NODE_BIN=$(readlink -f "$(command -v node)")
NPM_DIR=$(dirname "$NODE_BIN")/../lib/node_modules/npm
HOST_CA=/etc/ssl/certs/ca-certificates.crt
base_key() {
  {
    echo "recipe 1 $SUITE minbase $MIRROR"
    sha256sum "$NODE_BIN" | cut -d' ' -f1
    node -p "require('$NPM_DIR/package.json').version"
    sha256sum "$HOST_CA" | cut -d' ' -f1
    declare -f make_base_rootfs
  } | sha256sum | cut -c1-16
}
make_base_rootfs() {
  local root=$1
  # debootstrap's output is cached on its own (by suite and mirror): a new Node or CA bundle
  # rebuilds the base image without debootstrapping again.
  local boot
  boot="$CACHE/debootstrap-$SUITE-minbase-$(echo "$MIRROR" | sha256sum | cut -c1-8).tar"
  if [ ! -s "$boot" ]; then
    debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 ||
      die "debootstrap failed (see $CACHE/debootstrap.log)"
    rm -rf "$root"/var/cache/apt/archives/*.deb
    tar -C "$root" --numeric-owner -cf "$boot.part" . && mv "$boot.part" "$boot"
  else
    tar -C "$root" --numeric-owner -xf "$boot"
  fi
  install -m 0755 "$NODE_BIN" "$root/usr/local/bin/node"
  mkdir -p "$root/usr/local/lib/node_modules"
  cp -a "$NPM_DIR" "$root/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  chroot "$root" groupadd --gid 1000 node
  chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  mkdir -p "$root/etc/ssl/certs"
  install -m 0644 "$HOST_CA" "$root/etc/ssl/certs/ca-certificates.crt"
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 0755 "$root/usr/sbin/policy-rc.d"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/tmp/*
  chroot "$root" /usr/local/bin/node --version >/dev/null
}
BASE_IMAGE=
ensure_base() {
  local key
  key=$(base_key)
  BASE_IMAGE=localhost/kpfl-base:node20-$key
  local tar="$CACHE/base-$key.tar"
  if ! podman image exists "$BASE_IMAGE" 2>/dev/null || ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    if [ ! -s "$tar" ]; then
      local t0 root="$CACHE/rootfs-$key"
      t0=$(now)
      say "making the base image $BASE_IMAGE (debootstrap $SUITE minbase + node $(node --version))"
      rm -rf "$root" && mkdir -p "$root"
      make_base_rootfs "$root"
      tar -C "$root" --numeric-owner -cf "$tar.part" . && mv "$tar.part" "$tar"
      rm -rf "$root"
      say "base rootfs made in $(since "$t0") s"
    fi
    local c=(--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'CMD ["node"]'
      --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt')
    podman image exists "$BASE_IMAGE" || podman import -q "${c[@]}" "$tar" "$BASE_IMAGE" >/dev/null
    docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 || docker import "${c[@]}" "$tar" "$BASE_IMAGE" >/dev/null
  fi
  echo "$BASE_IMAGE" >"$CACHE/base-image"
}

cmd_engine() {
  ensure_tools
  ensure_dockerd
  ensure_base
  local out
  out=$(docker run --rm --network none "$BASE_IMAGE" node -e 'console.log("ok " + process.version)' 2>&1) ||
    no_engine "docker run of the base image failed: $out"
  say "engine: dockerd $(docker version --format '{{.Server.Version}}') runs containers ($out)"
}

# ---------------------------------------------------------------------------------------------
# Images. buildah bud with --layers keeps each step's layer, and RUN --mount=type=cache keeps npm's
# cache, so a rebuild with unchanged manifests reuses the dependency layer.
build_one() {
  local name=$1 file=$2
  shift 2
  local t0 id
  t0=$(now)
  say "building $name from $file"
  buildah bud --isolation chroot --layers --format docker -f "$REPO/$file" \
    --build-arg "NODE_IMAGE=$BASE_IMAGE" --build-arg "BUILD_IMAGE=$BASE_IMAGE" "$@" \
    -t "localhost/$name:latest" "$REPO" >"$CACHE/build-$name.log" 2>&1 ||
    {
      tail -n 30 "$CACHE/build-$name.log" >&2
      die "building $name failed (see $CACHE/build-$name.log)"
    }
  id=$(podman image inspect --format '{{.Id}}' "localhost/$name:latest")
  if [ "$(docker image inspect --format '{{.Id}}' "$name:latest" 2>/dev/null)" != "sha256:$id" ]; then
    say "copying $name into dockerd"
    podman save --format docker-archive "localhost/$name:latest" | docker load >/dev/null
    docker tag "localhost/$name:latest" "$name:latest"
  fi
  local size
  size=$(docker image inspect --format '{{.Size}}' "$name:latest")
  printf '{"image":"%s","seconds":%s,"bytes":%s}\n' "$name" "$(since "$t0")" "$size"
}

cmd_build() {
  ensure_tools
  ensure_dockerd
  ensure_base
  build_one kpfl-postgres docker/local/postgres.Dockerfile
  build_one kpfl-redis docker/local/redis.Dockerfile
  build_one kpfl-aggregator docker/aggregator.Dockerfile
  build_one kpfl-participant docker/participant.Dockerfile --build-arg TFJS_NATIVE=none
  if [ "${1:-}" = gpu ]; then
    # No CUDA image can be pulled: a stand-in for it, the debootstrap tree without Node (the
    # Dockerfile copies Node in) plus this host's CAs where update-ca-certificates keeps them. The
    # build gets as far as tfjs-node-gpu's libtensorflow download (docs/deploy.md, GPU members).
    local boot standin=localhost/kpfl-cuda-standin:bookworm t
    boot=$(ls "$CACHE"/debootstrap-"$SUITE"-minbase-*.tar | head -n 1)
    if ! podman image exists "$standin"; then
      t=$(mktemp -d)
      cp "$boot" "$t/standin.tar"
      mkdir -p "$t/root/etc/ssl/certs" "$t/root/usr/local/share/ca-certificates"
      install -m 0644 "$HOST_CA" "$t/root/etc/ssl/certs/ca-certificates.crt"
      cp /usr/local/share/ca-certificates/*.crt "$t/root/usr/local/share/ca-certificates/" 2>/dev/null || true
      tar -C "$t/root" -rf "$t/standin.tar" ./etc/ssl/certs/ca-certificates.crt ./usr/local/share/ca-certificates
      podman import -q --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        "$t/standin.tar" "$standin" >/dev/null
      rm -rf "$t"
    fi
    build_one kpfl-participant-gpu docker/participant-gpu.Dockerfile --build-arg "CUDA_IMAGE=$standin"
  fi
}

# ---------------------------------------------------------------------------------------------
# A deployment: docker/compose.yaml (unchanged) plus DIR/override.yaml, with DIR as the project
# directory: DIR/kits (the operator's kit directories, made first, 0700, owned by the containers'
# uid 1000), DIR/.env, and DIR/config and DIR/postgres pointing at docker/'s.
# The override is what a test on a shared machine needs and nothing else: the local Postgres and
# Redis images (through .env), two members (carol left out), no port published on the host and
# the federation network internal too (nothing leaves the machine), shorter health-check intervals
# (the checks themselves are the images' and compose.yaml's), a short evaluation.
project_of() { echo "kpfl-$(basename "$1" | tr -c 'a-z0-9\n' '-' | cut -c1-40)"; }
dc() {
  local dir=$1
  shift
  docker compose -p "$(project_of "$dir")" --project-directory "$dir" --env-file "$dir/.env" \
    -f "$REPO/docker/compose.yaml" -f "$dir/override.yaml" "$@"
}
MEMBERS=(alice bob)

layout() {
  local dir=$1
  mkdir -p "$dir"
  ln -sfn "$REPO/docker/config" "$dir/config"
  ln -sfn "$REPO/docker/postgres" "$dir/postgres"
  mkdir -p "$dir/kits/coordinator" "$dir/kits/exchange"
  chmod 0700 "$dir/kits/coordinator"
  for m in "${MEMBERS[@]}"; do
    mkdir -p -m 0700 "$dir/kits/members/$m"
    mkdir -p "$dir/kits/exchange/$m"
  done
  chown -R 1000:1000 "$dir/kits"
  {
    echo "POSTGRES_PASSWORD=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
    echo "KPFL_APP_PASSWORD=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
    echo 'KPFL_UID=1000'
    echo 'KPFL_GID=1000'
    echo 'KPFL_POSTGRES_IMAGE=kpfl-postgres:latest'
    echo 'KPFL_REDIS_IMAGE=kpfl-redis:latest'
    for m in "${MEMBERS[@]}"; do echo "KPFL_DATA_${m^^}=$REPO/data/mnist"; done
  } >"$dir/.env"
  chmod 0600 "$dir/.env"
  cat >"$dir/override.yaml" <<'YAML'
# scripts/containers.sh: docker/compose.yaml on a shared test machine (see the script).
services:
  postgres:
    healthcheck: { interval: 1s }
  redis:
    healthcheck: { interval: 1s }
  aggregator:
    ports: !reset []
    healthcheck: { interval: 2s }
  worker:
    healthcheck: { interval: 2s }
  alice:
    environment: { KPFL_TEST_LIMIT: "300" }
    healthcheck: { interval: 2s }
  bob:
    environment: { KPFL_TEST_LIMIT: "300" }
    healthcheck: { interval: 2s }
  carol:
    profiles: [three-members]
networks:
  federation:
    internal: true
YAML
}

# Enrollment as compose.yaml's header describes it, one step per one-shot container. The members'
# own steps need nothing of each other and run side by side; the coordinator adds one at a time
# (each rewrites its kit) and must print the fingerprint the member read.
step() {
  local dir=$1 svc=$2
  dc "$dir" --profile enroll run --rm "$svc" >"$dir/$svc.log" 2>&1 ||
    die "$svc failed: $(tail -n 20 "$dir/$svc.log")"
}
each_member() {
  local dir=$1 suffix=$2 pids=() m
  for m in "${MEMBERS[@]}"; do
    step "$dir" "$m-$suffix" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || exit 1; done
}
enroll() {
  local dir=$1 fp printed m
  step "$dir" coordinator-init
  each_member "$dir" init
  for m in "${MEMBERS[@]}"; do
    fp=$(sed -n 's/.*fingerprint: \([A-Z2-7-]*\).*/\1/p' "$dir/$m-init.log" | head -n 1)
    [ -n "$fp" ] || die "$m-init printed no fingerprint: $(tail -n 20 "$dir/$m-init.log")"
    step "$dir" "coordinator-add-$m"
    printed=$(sed -n 's/.*request fingerprint: \([A-Z2-7-]*\).*/\1/p' "$dir/coordinator-add-$m.log" | head -n 1)
    [ "$printed" = "$fp" ] || die "coordinator-add-$m printed fingerprint '$printed', $m read '$fp'"
    echo "$m $fp" >>"$dir/fingerprints.part"
  done
  each_member "$dir" join
  mv "$dir/fingerprints.part" "$dir/fingerprints"
}

# Every service `up` starts is running and healthy; the one-shot migrate exited 0.
cmd_wait() {
  local dir=$1 timeout=${2:-240} t0 ps bad
  t0=$(date +%s)
  while :; do
    ps=$(dc "$dir" ps -a --format '{{.Service}} {{.State}} {{.Health}} {{.ExitCode}}')
    bad=$(echo "$ps" | awk '$1 == "migrate" { if ($2 != "exited" || $NF != 0) print; next }
      { if ($2 != "running" || $3 != "healthy") print }')
    [ -n "$ps" ] && [ -z "$bad" ] && return 0
    if echo "$ps" | awk '$1 != "migrate" && $2 == "exited" { f = 1 } $1 == "migrate" && $2 == "exited" && $NF != 0 { f = 1 } END { exit !f }'; then
      dc "$dir" logs --no-color --tail 30 >&2 || true
      die "a container exited: $ps"
    fi
    if [ $(($(date +%s) - t0)) -gt "$timeout" ]; then
      dc "$dir" logs --no-color --tail 30 >&2 || true
      die "not healthy after $timeout s: $bad"
    fi
    sleep 1
  done
}

cmd_up() {
  local dir=$1 t0
  ensure_dockerd
  [ -e "$dir/.env" ] || layout "$dir"
  if [ ! -s "$dir/fingerprints" ]; then
    t0=$(now)
    enroll "$dir"
    say "enrolled ${MEMBERS[*]} in $(since "$t0") s"
  fi
  t0=$(now)
  dc "$dir" up -d >"$dir/up.log" 2>&1 || die "compose up failed: $(tail -n 20 "$dir/up.log")"
  cmd_wait "$dir"
  say "up and healthy in $(since "$t0") s"
}

cmd_clean() {
  local dir=$1
  [ -e "$dir/override.yaml" ] && dc "$dir" --profile enroll --profile ops down -v --remove-orphans >/dev/null 2>&1 || true
  rm -rf "$dir"
}

psql_in() {
  local dir=$1
  shift
  dc "$dir" exec -T postgres psql -U kpfl -d kpfl -tA -c "$@"
}

RUN_DIR=
cmd_run() {
  local dir t0 plan=containers-plan n
  dir=$(mktemp -d /tmp/kpfl-containers.XXXXXX)
  RUN_DIR=$dir
  trap 'cmd_clean "$RUN_DIR"' EXIT
  cmd_engine
  cmd_build
  t0=$(now)
  cmd_up "$dir"
  # Two participants run here: he mode (secure aggregation needs three).
  dc "$dir" --profile ops run --rm ops rounds schedule --mode he --rounds 2 --min-participants 2 --fraction 1 \
    --deadline 120s --max-examples 300 --plan-id "$plan" >&2
  for _ in $(seq 300); do
    n=$(psql_in "$dir" "SELECT count(*) FROM kpfl.rounds WHERE plan_id = '$plan' AND state = 'published'")
    [ "$n" = 2 ] && break
    sleep 1
  done
  [ "$n" = 2 ] || die "the 2 rounds did not publish: $(psql_in "$dir" "SELECT round, state FROM kpfl.rounds")"
  say "2 rounds published over mutual TLS, $(since "$t0") s after \`up\` began (enrollment included)"
  dc "$dir" --profile ops run --rm ops rounds status --plan "$plan"
}

case "${1:-}" in
engine) cmd_engine ;;
build)
  shift
  cmd_build "$@"
  ;;
up) cmd_up "${2:?usage: up DIR}" ;;
wait) cmd_wait "${2:?usage: wait DIR}" "${3:-240}" ;;
clean) cmd_clean "${2:?usage: clean DIR}" ;;
compose)
  d=${2:?usage: compose DIR ARGS...}
  shift 2
  dc "$d" "$@"
  ;;
run) cmd_run ;;
*)
  sed -n '2,/^set -e/p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
