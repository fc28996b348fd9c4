#!/usr/bin/env bash
# make test-compose: docker-compose.yml for real, on a machine that may reach no container
# registry (CI here). As root:
#   1. installs what it needs: Debian's docker.io, iptables and debootstrap; Compose v2 from
#      Debian's own build (see docs/deployment.md for why that source);
#   2. starts a dockerd of its own: its own data root (kept, so images are reused), exec root,
#      socket, pidfile, bridge and address pool; the machine's services are not touched;
#   3. uses the official images where they can be pulled; otherwise makes a base image from
#      Debian's archive (debootstrap, docker import) and stand-ins from deploy/ci/;
#   4. runs the unchanged docker-compose.yml plus a generated override (images, ports) through
#      the smoke test in tests/compose/, which builds the project's images from their
#      Dockerfiles, brings the stack up, uses it, breaks it and takes it down; then the same
#      with object storage (deploy/storage/compose.s3.yml) and three of B's workers;
#   5. on any exit (failure, Ctrl-C), removes what it started: containers, networks, volumes,
#      dockerd and its containerd, the iptables rules and chains dockerd added, its bridges, and
#      puts net.ipv4.ip_forward back.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD

# Kept between runs, outside any clone: the image store (so a second run, or CI's fresh clone,
# reuses the base images and build layers) and the Compose binary.
STATE=${CROSSLINK_CI_STATE:-/var/lib/crosslink-ci}
RUN_DIR=/run/crosslink-ci
WORK=$REPO/var/compose
BRIDGE=crosslink0
BRIDGE_ADDR=10.213.0.1/24
ADDRESS_POOL=10.214.0.0/16
DEBIAN_IMAGE=crosslink-ci/debian:bookworm
PYTHON_IMAGE=crosslink-ci/python:bookworm
PULL_TIMEOUT_S=30
# Compose v2 as Debian builds it (trixie's docker-compose: a static Go binary that only needs
# libc6 >= 2.34, so it runs on bookworm), fetched from the machine's own Debian mirror; apt checks
# the archive's signature, and this hash pins the exact file.
COMPOSE_DEB=docker-compose=2.26.1-4
COMPOSE_DEB_SHA256=47681197cb2b1ab88206b42a1a92fc75f50d9530a6322d03494a473eed0408ea
COMPOSE_BIN=$STATE/bin/docker-compose

export DOCKER_HOST=unix://$RUN_DIR/docker.sock
# The classic builder: no buildx plugin is needed, and the Dockerfiles use nothing of BuildKit's.
export DOCKER_BUILDKIT=0
export COMPOSE_ANSI=never COMPOSE_PROGRESS=plain

log() { printf '[compose-ci %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $(id -u) == 0 ]] || die "needs root (apt, dockerd, iptables)"
mkdir -p "$STATE/bin" "$WORK"
# One run at a time on a machine: a second waits for the first to finish and clean up.
exec 9>"$STATE/lock"
flock -w 3600 9 || die "another make test-compose holds $STATE/lock"

# --- 1. Tools -------------------------------------------------------------------------------

apt_install() {
  log "installing $* with apt"
  # docker.io's postinst would start the machine's own dockerd; this run starts its own.
  local guard=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    guard=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' >"$guard" && chmod +x "$guard"
  fi
  local status=0
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends "$@"; } >"$WORK/apt.log" 2>&1 || status=$?
  [[ -z $guard ]] || rm -f "$guard"
  ((status == 0)) || { tail -20 "$WORK/apt.log" >&2; die "apt-get install $* failed"; }
}

debian_mirror() {  # the machine's Debian mirror, as its apt configuration names it
  apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Identifier: Packages' |
    awk '$2 == "bookworm" { print $1; exit }'
}

install_tools() {
  local missing=()
  [[ -x /usr/sbin/dockerd ]] || missing+=(docker.io)
  command -v iptables >/dev/null || missing+=(iptables)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  ((${#missing[@]} == 0)) || apt_install "${missing[@]}"
  command -v docker >/dev/null || die "no docker client after installing docker.io"

  if [[ -x $COMPOSE_BIN ]] && [[ $(cat "$COMPOSE_BIN.sha256" 2>/dev/null) == "$COMPOSE_DEB_SHA256" ]]; then
    return
  fi
  log "fetching Compose v2 ($COMPOSE_DEB) from Debian trixie"
  local mirror apt_dir
  mirror=$(debian_mirror)
  [[ -n $mirror ]] || die "no bookworm suite in this machine's apt sources"
  apt_dir=$(mktemp -d)
  mkdir -p "$apt_dir"/{lists/partial,cache/archives/partial}
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" \
    >"$apt_dir/sources.list"
  # A private apt state: the machine's own sources and package lists stay as they are.
  local opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache")
  apt-get "${opts[@]}" update -qq >"$WORK/apt-compose.log" 2>&1
  (cd "$apt_dir" && apt-get "${opts[@]}" download "$COMPOSE_DEB") >>"$WORK/apt-compose.log" 2>&1
  local deb
  deb=$(echo "$apt_dir"/docker-compose_*.deb)
  echo "$COMPOSE_DEB_SHA256  $deb" | sha256sum --check --quiet ||
    die "$deb does not match the pinned SHA-256"
  dpkg-deb -x "$deb" "$apt_dir/root"
  install -m 0755 "$apt_dir/root/usr/libexec/docker/cli-plugins/docker-compose" "$COMPOSE_BIN"
  echo "$COMPOSE_DEB_SHA256" >"$COMPOSE_BIN.sha256"
  rm -rf "$apt_dir"
}

# --- 2. The engine, and putting the machine back ---------------------------------------------

# Kept with the store, not the clone: a run killed before its clean-up (a session ended under it)
# is cleaned up after by the next one, which may be CI's in a fresh clone.
BEFORE=$STATE/machine-before
record_machine() {
  mkdir -p "$BEFORE"
  iptables -S >"$BEFORE/filter"
  iptables -t nat -S >"$BEFORE/nat"
  sysctl -n net.ipv4.ip_forward >"$BEFORE/ip_forward"
  ip -o link show | awk -F': ' '{ print $2 }' | cut -d@ -f1 | sort >"$BEFORE/links"
}

dockerd_pid() { [[ -s $RUN_DIR/dockerd.pid ]] && cat "$RUN_DIR/dockerd.pid"; }

restore_iptables() {  # delete the rules, then the chains, that were not there before
  local table rule chain policy
  for table in filter nat; do
    [[ -s $BEFORE/$table ]] || continue
    # dockerd sets FORWARD's policy to DROP when it turns forwarding on.
    grep '^-P ' "$BEFORE/$table" | while read -r _ chain policy; do
      iptables -t "$table" -P "$chain" "$policy"
    done
    iptables -t "$table" -S | grep '^-A ' | grep -vxFf "$BEFORE/$table" | while read -r rule; do
      eval "iptables -t $table -D ${rule#-A }" || log "could not delete $table rule: $rule"
    done
    iptables -t "$table" -S | grep '^-N ' | grep -vxFf "$BEFORE/$table" | while read -r _ chain; do
      iptables -t "$table" -F "$chain" && iptables -t "$table" -X "$chain" ||
        log "could not delete $table chain $chain"
    done
  done
}

stop_dockerd() {
  local pid=$1
  kill -TERM "$pid"
  local deadline=$((SECONDS + 60))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then
    log "dockerd did not stop in 60s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  log "cleaning up"
  local pid
  if pid=$(dockerd_pid) && kill -0 "$pid" 2>/dev/null; then
    local args_file
    for args_file in "$WORK"/compose-args*; do
      [[ -s $args_file ]] || continue
      mapfile -t args <"$args_file"
      timeout 120 "$COMPOSE_BIN" "${args[@]}" down --volumes --remove-orphans --timeout 10 \
        >>"$WORK/cleanup.log" 2>&1 || log "compose down failed (see $WORK/cleanup.log)"
    done
    # Whatever else ran on this engine (its store is kept, its containers are not).
    docker ps -aq | xargs -r docker rm -f >>"$WORK/cleanup.log" 2>&1 || true
    docker network prune -f >>"$WORK/cleanup.log" 2>&1 || true
    docker volume prune -f >>"$WORK/cleanup.log" 2>&1 || true
    # Layers no run has made for a month. Untagged images are also the build cache (the build
    # stage of each Dockerfile): pruning them all would rebuild every layer next run.
    docker image prune -f --filter until=720h >>"$WORK/cleanup.log" 2>&1 || true
    stop_dockerd "$pid"
  fi
  restore_machine
  log "clean (exit $status)"
  exit "$status"
}

restore_machine() {  # everything but the engine's own contents, back as BEFORE recorded it
  local pid
  # dockerd's own containerd, if it outlived dockerd.
  if [[ -s $RUN_DIR/exec/containerd/containerd.pid ]]; then
    pid=$(cat "$RUN_DIR/exec/containerd/containerd.pid")
    kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null || true
  fi
  # Mounts left by a killed engine (overlays, network namespaces), deepest first.
  findmnt -rno TARGET | grep -E "^($RUN_DIR|$STATE/docker)(/|$)" | sort -r |
    xargs -r -n1 umount -l 2>/dev/null || true
  restore_iptables
  if [[ -s $BEFORE/links ]]; then
    ip -o link show | awk -F': ' '{ print $2 }' | cut -d@ -f1 | sort | comm -13 "$BEFORE/links" - |
      grep -E "^($BRIDGE|br-[0-9a-f]{12}|veth[0-9a-f]+)$" | while read -r link; do
        ip link delete "$link" 2>/dev/null || true
      done
  fi
  if [[ -s $BEFORE/ip_forward ]]; then
    sysctl -qw "net.ipv4.ip_forward=$(cat "$BEFORE/ip_forward")"
  fi
  rm -rf "$RUN_DIR" "$BEFORE"
}

start_dockerd() {
  mkdir -p "$RUN_DIR" "$STATE/docker"
  local mtu iface
  iface=$(ip route show default | awk '{ print $5; exit }')
  mtu=$(cat "/sys/class/net/${iface:-lo}/mtu")
  # Its own bridge (dockerd would make docker0 otherwise), addressed by us.
  ip link add "$BRIDGE" type bridge
  ip address add "$BRIDGE_ADDR" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  echo '{}' >"$RUN_DIR/daemon.json"
  log "starting dockerd (data root $STATE/docker, MTU $mtu)"
  # setsid: a Ctrl-C reaches this script, whose trap stops dockerd in order, not dockerd itself.
  setsid dockerd \
    --config-file "$RUN_DIR/daemon.json" \
    --data-root "$STATE/docker" \
    --exec-root "$RUN_DIR/exec" \
    --pidfile "$RUN_DIR/dockerd.pid" \
    --host "$DOCKER_HOST" \
    --bridge "$BRIDGE" \
    --default-address-pool "base=$ADDRESS_POOL,size=24" \
    --mtu "$mtu" \
    --storage-driver overlay2 \
    --log-level warn \
    </dev/null >"$WORK/dockerd.log" 2>&1 &
  local deadline=$((SECONDS + 60))
  until docker version >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { tail -20 "$WORK/dockerd.log" >&2; die "dockerd did not answer in 60s"; }
    sleep 0.5
  done
  log "dockerd $(docker version --format '{{.Server.Version}}') answers"
}

# --- 3. Images --------------------------------------------------------------------------------

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

pullable() {  # pullable IMAGE: present already, or pulled now
  have_image "$1" || timeout "$PULL_TIMEOUT_S" docker pull -q "$1" >>"$WORK/pull.log" 2>&1
}

base_images() {
  if ! have_image "$DEBIAN_IMAGE"; then
    local mirror rootfs
    mirror=$(debian_mirror)
    rootfs=$(mktemp -d "$STATE/rootfs.XXXXXX")
    log "debootstrap bookworm from $mirror"
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1 ||
      { tail -20 "$WORK/debootstrap.log" >&2; rm -rf "$rootfs"; die "debootstrap failed"; }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | docker import - "$DEBIAN_IMAGE" >/dev/null
    rm -rf "$rootfs"
  fi
  # The build context: this machine's Debian sources and its extra CA certificates.
  local context=$WORK/python-image
  rm -rf "$context" && mkdir -p "$context/extra-ca"
  cp deploy/ci/python/Dockerfile "$context/"
  apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 'Identifier: Packages' |
    awk '$2 ~ /^bookworm/ { print "deb", $1, $2, $3 }' | sort -u >"$context/sources.list"
  python3 - "$context/extra-ca" <<'EOF'
import re, sys
from pathlib import Path
# Certificates in the machine's trusted bundle that Debian's ca-certificates does not ship.
pem = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
def certs(text): return {m.group(0) for m in pem.finditer(text)}
bundle = certs(Path("/etc/ssl/certs/ca-certificates.crt").read_text())
debian = set()
for path in Path("/usr/share/ca-certificates").rglob("*.crt"):
    if "mozilla" in path.parts:
        debian |= certs(path.read_text())
for number, cert in enumerate(sorted(bundle - debian)):
    Path(sys.argv[1], f"host-extra-{number}.crt").write_text(cert + "\n")
EOF
  log "building $PYTHON_IMAGE ($(ls "$context/extra-ca" | wc -l) extra CA certificates)"
  docker build -q --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE" -t "$PYTHON_IMAGE" "$context" >/dev/null
}

standin_for() {  # the deploy/ci/ directory standing in for an official image, by its name
  local name=${1%%:*}
  name=${name##*/}
  [[ -d deploy/ci/$name && $name != python ]] && echo "$name"
}

# Decisions already taken in this run: image -> the local image standing in for it ("" when the
# image itself is used). Both variants share them, and the base images are made once.
declare -A STANDIN=()
MADE_BASE=""

standin_decide() {  # standin_decide IMAGE: pull IMAGE or make what stands in for it; sets STANDIN
  local image=$1 local_image name
  [[ -z ${STANDIN[$image]+set} ]] || return 0
  if pullable "$image"; then
    log "using $image"
    STANDIN[$image]=""
    return
  fi
  [[ -n $MADE_BASE ]] || { base_images; MADE_BASE=1; }
  if [[ ${image%%:*} == python || ${image%%:*} == library/python ]]; then
    local_image=$PYTHON_IMAGE
  elif name=$(standin_for "$image"); then
    local_image=crosslink-ci/$name:bookworm
    log "building $local_image to stand in for $image"
    docker build -q --build-arg "BASE_IMAGE=$PYTHON_IMAGE" -t "$local_image" "deploy/ci/$name" >/dev/null
  else
    die "cannot pull $image and deploy/ci/ has no stand-in for it"
  fi
  log "$image cannot be pulled here: $local_image stands in"
  STANDIN[$image]=$local_image
}

# variant NAME FILE...: the images the compose files FILE... need, pulled or stood in for; then
# the override of images and ports for them ($WORK/override$suffix.yml), the published ports
# ($WORK/ports$suffix.json), which images were stood in for ($WORK/standins$suffix.json) and the
# arguments of every `docker compose` command of this variant ($WORK/compose-args$suffix). The
# suffix is empty for the default variant, "-NAME" for the others. A stand-in's own compose file
# (deploy/ci/NAME/compose.yml), if it has one, adapts the stack to what the stand-in cannot do.
variant() {
  local name=$1 suffix="" file
  shift
  [[ $name == volume ]] || suffix=-$name
  local files=()
  for file in "$@"; do files+=(-f "$REPO/$file"); done
  local config=$WORK/config$suffix.json
  "$COMPOSE_BIN" "${files[@]}" --env-file "$WORK/env" config --format json >"$config"
  local image needed=()
  # Images the project does not build itself, and the base of those it does.
  mapfile -t needed < <(python3 - "$config" <<'EOF'
import json, re, sys
from pathlib import Path
config = json.loads(Path(sys.argv[1]).read_text())
seen = set()
for service in config["services"].values():
    build = service.get("build")
    if build:
        dockerfile = Path(build["context"], build.get("dockerfile", "Dockerfile"))
        match = re.search(r"^ARG\s+BASE_IMAGE=(\S+)", dockerfile.read_text(), re.M)
        image = match.group(1) if match else None
    else:
        image = service.get("image")
    if image and image not in seen:
        seen.add(image)
        print(image)
EOF
  )
  local standins="{" sep="" adapters=() standin_name
  for image in "${needed[@]}"; do
    standin_decide "$image"
    [[ -n ${STANDIN[$image]} ]] || continue
    standins+="$sep\"$image\": \"${STANDIN[$image]}\""
    sep=", "
    if standin_name=$(standin_for "$image") && [[ -f deploy/ci/$standin_name/compose.yml ]]; then
      log "$name: deploy/ci/$standin_name/compose.yml adapts the stack to its stand-in"
      adapters+=(-f "$REPO/deploy/ci/$standin_name/compose.yml")
    fi
  done
  echo "$standins}" >"$WORK/standins$suffix.json"
  python3 scripts/compose_override.py "$config" "$WORK/standins$suffix.json" \
    "$WORK/override$suffix.yml" "$WORK/ports$suffix.json"
  printf '%s\n' "${files[@]}" -f "$WORK/override$suffix.yml" "${adapters[@]}" \
    --env-file "$WORK/env" >"$WORK/compose-args$suffix"
}

images() {  # every variant the smoke test runs: the shared volume, and object storage
  variant volume docker-compose.yml
  variant s3 docker-compose.yml deploy/storage/compose.s3.yml
}

build() {  # build VARIANT_SUFFIX: the project's images of one variant, from their Dockerfiles
  local args
  mapfile -t args <"$WORK/compose-args$1"
  "$COMPOSE_BIN" "${args[@]}" build >>"$WORK/build.log" 2>&1 ||
    { tail -40 "$WORK/build.log" >&2; die "docker compose build failed (see $WORK/build.log)"; }
}

# --- Main -------------------------------------------------------------------------------------

install_tools
if [[ -d $BEFORE ]]; then
  log "an earlier run did not clean up (killed?): cleaning up after it"
  if pid=$(dockerd_pid) && kill -0 "$pid" 2>/dev/null; then stop_dockerd "$pid"; fi
  restore_machine
fi
record_machine
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
start_dockerd

rm -f "$WORK/env" "$WORK"/compose-args* "$WORK/build.log"
python3 scripts/make_env.py "$WORK/env" >/dev/null
# No TLS proxy in front here: the smoke test speaks plain HTTP to the published port, as the
# local demo does (.env.example). The HTTPS settings are tested in tests/security/.
echo "DJANGO_HTTPS=false" >>"$WORK/env"
started=$SECONDS
images
images_s=$((SECONDS - started))
log "base and stand-in images ready in ${images_s}s"
started=$SECONDS
log "building the project's images from their Dockerfiles"
build ""
build -s3
build_s=$((SECONDS - started))
log "project images built in ${build_s}s"

export CROSSLINK_COMPOSE_BIN=$COMPOSE_BIN CROSSLINK_COMPOSE_ENV=$WORK/env \
  CROSSLINK_COMPOSE_ARGS=$WORK/compose-args CROSSLINK_COMPOSE_PORTS=$WORK/ports.json \
  CROSSLINK_COMPOSE_S3_ARGS=$WORK/compose-args-s3 CROSSLINK_COMPOSE_S3_PORTS=$WORK/ports-s3.json \
  CROSSLINK_COMPOSE_S3_STANDINS=$WORK/standins-s3.json \
  CROSSLINK_COMPOSE_REPORT=$WORK/timings.txt
printf 'images made or found: %ss\nproject images built: %ss\n' "$images_s" "$build_s" \
  >"$WORK/timings.txt"
status=0
tests/.venv/bin/python -m pytest tests/compose -p no:cacheprovider ${PYTEST_FLAGS:-} || status=$?
cat "$WORK/timings.txt" 2>/dev/null || true
exit "$status"
