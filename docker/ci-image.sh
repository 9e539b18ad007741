#!/usr/bin/env bash
# ci-image.sh — build the image users build (docker/Dockerfile, unchanged)
# with podman on a locally made debian:bookworm, and check it. .ci/run calls
# it; it needs root, podman, debootstrap and curl.
#
#   1. base   debootstrap --variant=minbase bookworm from the Debian mirror
#             this machine's apt uses, imported as debian:bookworm into a
#             private podman store under the work directory (so the base is
#             shared by every build of this run and by no other run). This
#             machine's CA certificates that Debian does not ship (HTTPS may
#             be intercepted) and its apt settings (Check-Valid-Until,
#             proxies) go into the base, not into the Dockerfile.
#   2. image  podman build --isolation=chroot --pull=never --format docker
#             (the OCI format drops HEALTHCHECK), with this machine's GOPROXY
#             and npm registry as build arguments.
#   3. smoke  podman build of docker/smoke.Containerfile FROM the image:
#             docker/smoke.sh inside it (kernelspec, notebook 01 through
#             nbclient, JupyterLab with its token, the healthcheck script
#             against a running and a stopped server, uid 1000, results dir).
#   4. run    podman run of the image the way compose.yaml runs it (port on
#             127.0.0.1, token, results volume), with `podman healthcheck
#             run`, from the host through the published port. Where plain
#             `podman run` fails, the options that make it work here are
#             tried (see run_options); if none does, the step fails under
#             QLAB_REQUIRE_EXTERNAL=1 and is skipped with the errors otherwise.
#
# Every step prints its wall time, CPU time (user+sys of everything it ran)
# and the load average around it.
#
# Environment: QLAB_CI_WORK (work directory; default a new one under
# /var/tmp, removed at the end unless QLAB_CI_KEEP=1), QLAB_DEBIAN_MIRROR
# (default: the mirror apt uses for bookworm), QLAB_IMAGE_JOBS (podman build
# --jobs, default 3: the Dockerfile's lab, kernel and runtime stages side
# by side).
set -euo pipefail
self=$(readlink -f "$0")
cd "$(dirname "$self")/.."

image=localhost/qlab:ci
volume=qlab-ci-results
container=qlab-ci

# pod runs podman on the private store.
pod() {
  podman --root "$work/storage" --runroot "$work/run" --tmpdir "$work/libpod" \
    --storage-driver overlay --cgroup-manager cgroupfs --events-backend file "$@"
}

# stamp prefixes each line with the time, so podman build's steps can be
# timed from the log.
stamp() {
  local line
  while IFS= read -r line; do printf '%(%H:%M:%S)T %s\n' -1 "$line"; done
}

# timed NAME CMD... runs CMD and reports its wall and CPU time.
timed() {
  local name=$1 load
  shift
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  local TIMEFORMAT="ci-image: $name: %R s wall, %U s user + %S s sys CPU (load before: $load)"
  time "$@"
}

# run_options prints one podman-run option set per line, tried in order.
# On this machine kind, crun refuses podman's default rlimits (NOFILE
# 1048576 and NPROC above podman's own 32768 need CAP_SYS_RESOURCE) and
# cgroups in hybrid mode (cgroup2 at /sys/fs/cgroup/unified with a
# controller); ulimits within the current ones and --cgroups=disabled get
# past the first, hiding cgroup2 in a private mount namespace the second.
run_options() {
  local nofile nproc
  nofile=$(ulimit -Hn); [[ $nofile == unlimited || $nofile -gt 16384 ]] && nofile=16384
  nproc=$(ulimit -Hu); [[ $nproc == unlimited || $nproc -gt 16384 ]] && nproc=16384
  echo ""
  echo "--cgroups=disabled --ulimit nofile=$nofile:$nofile --ulimit nproc=$nproc:$nproc"
}

# runtime_checks OPTIONS... runs the image as compose.yaml does and checks
# it from the outside. It runs in a subshell or a process of its own: its
# EXIT trap removes the container and the volume.
runtime_checks() {
  local port token=ci-token status code mountpoint
  port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  pod volume create "$volume" >/dev/null
  trap 'pod rm -f -t 2 "$container" >/dev/null 2>&1 || true; pod volume rm -f "$volume" >/dev/null 2>&1 || true' EXIT
  pod run -d --name "$container" "$@" -p "127.0.0.1:$port:8888" -e JUPYTER_TOKEN=$token \
    -v "$volume:/home/qlab/results" "$image" >/dev/null
  [[ $(pod inspect --format '{{.Config.Healthcheck.Test}}' "$container") == *qlab-healthcheck* ]] ||
    { echo "ci-image: run: the container has no qlab-healthcheck HEALTHCHECK"; return 1; }
  status=unhealthy
  for _ in $(seq 60); do
    if pod healthcheck run "$container" >/dev/null 2>&1; then status=healthy; break; fi
    sleep 1
  done
  [[ $status == healthy ]] || { pod logs "$container" | tail -20; echo "ci-image: run: podman healthcheck run: unhealthy after 60 s"; return 1; }
  echo "ci-image: run: podman healthcheck run: healthy"
  [[ $(pod port "$container") == "8888/tcp -> 127.0.0.1:$port" ]] ||
    { echo "ci-image: run: published as $(pod port "$container"), want 127.0.0.1:$port only"; return 1; }
  curl -fsS --noproxy '*' -H "Authorization: token $token" "http://127.0.0.1:$port/api/kernelspecs" |
    grep -q '"display_name": "Go (qlab)"' || { echo "ci-image: run: /api/kernelspecs lacks Go (qlab)"; return 1; }
  code=$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/api/kernelspecs")
  [[ $code == 403 ]] || { echo "ci-image: run: /api/kernelspecs without the token: HTTP $code, want 403"; return 1; }
  echo "ci-image: run: 127.0.0.1:$port serves /api/kernelspecs with Go (qlab) with the token, 403 without"
  [[ $(pod exec "$container" id -u) == 1000 && $(pod exec "$container" stat -c %u /proc/1) == 1000 ]] ||
    { echo "ci-image: run: the server does not run as uid 1000"; return 1; }
  echo "ci-image: run: the server (pid 1) and exec run as uid 1000"
  pod exec "$container" touch /home/qlab/notebooks/figures/ci-probe.png
  mountpoint=$(pod volume inspect --format '{{.Mountpoint}}' "$volume")
  [[ -f $mountpoint/figures/ci-probe.png ]] ||
    { echo "ci-image: run: notebooks/figures/ci-probe.png is not in the volume ($mountpoint)"; return 1; }
  echo "ci-image: run: notebooks/figures/ lands in the results volume"
  pod stop -t 10 "$container" >/dev/null
  [[ $(pod inspect --format '{{.State.ExitCode}}' "$container") =~ ^(0|143)$ ]] ||
    { pod logs "$container" | tail -20; echo "ci-image: run: the server exited with $(pod inspect --format '{{.State.ExitCode}}' "$container")"; return 1; }
  echo "ci-image: run: the server stops on SIGTERM"
}

if [[ ${1:-} == --runtime-checks ]]; then
  # Re-executed by step 4 in a private mount namespace: hide cgroup2.
  shift
  work=$QLAB_CI_WORK
  mount -t tmpfs qlab-ci-no-cgroup2 /sys/fs/cgroup/unified
  runtime_checks "$@"
  exit
fi

work=${QLAB_CI_WORK:-$(mktemp -d /var/tmp/qlab-ci-image.XXXXXX)}
export QLAB_CI_WORK=$work
# podman's overlay driver refuses a run root longer than 50 characters.
((${#work} <= 46)) || { echo "ci-image: QLAB_CI_WORK=$work: at most 46 characters (podman's run root)" >&2; exit 2; }
mkdir -p "$work/tmp"
export TMPDIR=$work/tmp
cleanup() {
  if [[ ${QLAB_CI_KEEP:-0} != 1 ]]; then
    pod rm -af >/dev/null 2>&1 || true
    pod rmi -af >/dev/null 2>&1 || true
    umount "$work/storage/overlay" 2>/dev/null || true
    rm -rf "$work"
  fi
}
trap cleanup EXIT
echo "ci-image: work directory $work; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. The base image.
make_base() {
  local mirror security rootfs=$work/rootfs
  mirror=${QLAB_DEBIAN_MIRROR:-$(apt-cache policy | awk '$3 ~ /^bookworm\/main/ && $2 ~ /^https?:/ {print $2; exit}')}
  mirror=${mirror:-http://deb.debian.org/debian}
  security=$(apt-cache policy | awk '$3 ~ /^bookworm-security\/main/ && $2 ~ /^https?:/ {print $2; exit}')
  security=${security:-http://deb.debian.org/debian-security}
  echo "ci-image: base from $mirror (security: $security)"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -30 "$work/debootstrap.log"; return 1; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs/etc/apt/sources.list"
  # The sources debian:bookworm has, on this machine's mirror.
  cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # What the debian:bookworm image (debuerreotype) sets for apt and dpkg in
  # containers: no fsync while unpacking, no translations, no .deb cache.
  echo force-unsafe-io >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
  echo 'Acquire::GzipIndexes "true";' >"$rootfs/etc/apt/apt.conf.d/docker-gzip-indexes"
  echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$rootfs/etc/apt/apt.conf.d/docker-autoremove-suggests"
  # This machine's apt settings that reach the network.
  apt-config dump | grep -E '^Acquire::(Check-Valid-Until|Check-Date|https?::Proxy) ' \
    >"$rootfs/etc/apt/apt.conf.d/90qlab-ci-host" || true
  # Certificates this machine trusts beyond Debian's own: into
  # /usr/local/share/ca-certificates, which update-ca-certificates keeps
  # when the build installs ca-certificates, and into the bundle the
  # image has before that.
  mkdir -p "$rootfs/usr/local/share/ca-certificates" "$rootfs/etc/ssl/certs"
  /usr/bin/python3 - /etc/ssl/certs/ca-certificates.crt "$rootfs/usr/local/share/ca-certificates" <<'PY'
import glob, os, re, sys
pem = re.compile(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", re.S)
debian = set()
for path in glob.glob("/usr/share/ca-certificates/**/*.crt", recursive=True):
    debian.update(pem.findall(open(path).read()))
extra = [c for c in pem.findall(open(sys.argv[1]).read()) if c not in debian]
for i, cert in enumerate(extra):
    with open(os.path.join(sys.argv[2], f"qlab-ci-host-{i}.crt"), "w") as f:
        f.write(cert + "\n")
print(f"ci-image: {len(extra)} CA certificates of this machine beyond Debian's go into the base")
PY
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  tar -C "$rootfs" -c . | pod import --change 'CMD ["bash"]' - docker.io/library/debian:bookworm >/dev/null
  rm -rf "$rootfs"
  echo "ci-image: base debian:bookworm $(pod image inspect --format '{{.Size}}' debian:bookworm | awk '{printf "%.0f MB", $1/1e6}')"
}
timed base make_base

# 2. The image, from the Dockerfile users build.
build_args=()
if command -v go >/dev/null; then build_args+=(--build-arg "GOPROXY=$(go env GOPROXY)"); fi
if command -v npm >/dev/null; then build_args+=(--build-arg "NPM_REGISTRY=$(npm config get registry)"); fi
echo "ci-image: build arguments: ${build_args[*]}"
timed image pod build --isolation=chroot --pull=never --format docker --layers=false \
  --jobs "${QLAB_IMAGE_JOBS:-3}" "${build_args[@]}" -f docker/Dockerfile -t "$image" . 2>&1 | stamp
echo "ci-image: image $image $(pod image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}')," \
  "user $(pod image inspect --format '{{.Config.User}}' "$image")"

# 3. The smoke stage.
timed smoke pod build --isolation=chroot --pull=never --layers=false \
  --build-arg IMAGE="$image" -f docker/smoke.Containerfile . 2>&1 | stamp

# 4. The image run as compose.yaml runs it.
run_step() {
  local opts errors=""
  while IFS= read -r opts; do
    # shellcheck disable=SC2086 # opts is a list of options
    if err=$(pod run --rm $opts "$image" true 2>&1); then
      echo "ci-image: run: podman run ${opts:-(no options)} works"
      (runtime_checks $opts)
      return
    fi
    echo "ci-image: run: podman run ${opts:-(no options)}: ${err##*$'\n'}"
    errors+="  podman run ${opts:-(no options)}: ${err##*$'\n'}"$'\n'
  done < <(run_options)
  if [[ $(stat -fc %T /sys/fs/cgroup) == tmpfs && -n $(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null) ]]; then
    opts=$(run_options | tail -1)
    # shellcheck disable=SC2086
    if err=$(unshare --mount --propagation private sh -c \
        'mount -t tmpfs qlab-ci-no-cgroup2 /sys/fs/cgroup/unified && exec "$@"' sh \
        podman --root "$work/storage" --runroot "$work/run" --tmpdir "$work/libpod" --storage-driver overlay \
        --cgroup-manager cgroupfs --events-backend file run --rm $opts "$image" true 2>&1); then
      echo "ci-image: run: podman run $opts works with cgroup2 hidden in a private mount namespace"
      # shellcheck disable=SC2086
      unshare --mount --propagation private "$self" --runtime-checks $opts
      return
    fi
    echo "ci-image: run: podman run $opts, cgroup2 hidden: ${err##*$'\n'}"
    errors+="  podman run $opts, cgroup2 hidden: ${err##*$'\n'}"$'\n'
  fi
  echo "ci-image: run: podman cannot start containers here:"
  printf '%s' "$errors"
  if [[ ${QLAB_REQUIRE_EXTERNAL:-0} == 1 ]]; then return 1; fi
  echo "ci-image: run: skipped (QLAB_REQUIRE_EXTERNAL=1 makes this a failure)"
}
timed run run_step
echo "ci-image: all steps passed"
