#!/usr/bin/env bash
# provision.sh: make the real components ferry's tests use available on this machine:
# a Docker Engine, the local base images, a registry, docker-compose, kubectl, an old
# kubectl (Debian's 1.20, unpacked beside the installed one) for the tests of older clients,
# and Debian's Chromium for the dashboard's browser tests (playwright-core drives it).
# Idempotent, safe to run from two processes at once, and quick when everything is up.
# Debian (apt) only; see /work/shared/ENV.md for the recipe and why it looks like this.
set -euo pipefail

REGISTRY=${FERRY_TEST_REGISTRY:-127.0.0.1:5000}
REGISTRY_DIR=/var/lib/ferry-test-registry
OLD_KUBECTL=${FERRY_TEST_OLD_KUBECTL:-/var/lib/ferry-test-kubectl/usr/bin/kubectl}
BUSYBOX_IMAGE=${FERRY_TEST_BUSYBOX_IMAGE:-ferry-test/busybox:latest}
USER_IMAGE=${FERRY_TEST_BUSYBOX_USER_IMAGE:-ferry-test/busybox-user:latest}
NOTAR_IMAGE=${FERRY_TEST_NOTAR_IMAGE:-ferry-test/notar:latest}
# The images link every busybox applet; tests rely on at least these.
REQUIRED_APPLETS="sh tar rm mkdir cat ls sleep echo mv cp chmod chown kill ps id env stat find
  touch ln wc head tail grep sed true false date seq printf test nc wget mkfifo pwd which"
USER_DOCKERFILE="FROM $BUSYBOX_IMAGE
RUN echo 'app:x:1000:1000:app:/app:/bin/sh' >>/etc/passwd && echo 'app:x:1000:' >>/etc/group \\
 && echo root >/app/owned-by-root.txt && chmod 644 /app/owned-by-root.txt && chown 1000:1000 /app
USER 1000
WORKDIR /app"

die() { echo "provision: $*" >&2; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "$1 needs root; run this script as root"; }
static_busybox() { local b; b=$(command -v busybox) && ! ldd "$b" >/dev/null 2>&1; }
registry_up() { curl -fsS -o /dev/null --max-time 2 "http://$REGISTRY/v2/" 2>/dev/null; }

# One provisioner at a time; a second one waits, then finds everything done.
exec 9>"${TMPDIR:-/tmp}/ferry-provision.lock"
flock 9

# --- packages ------------------------------------------------------------------------------
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker-registry >/dev/null || missing+=(docker-registry)
command -v docker-compose >/dev/null || missing+=(docker-compose)
static_busybox || missing+=(busybox-static)
command -v kubectl >/dev/null || missing+=(kubernetes-client)
command -v curl >/dev/null || missing+=(curl)
{ command -v cc && command -v g++ && command -v make; } >/dev/null || missing+=(build-essential)
command -v python3 >/dev/null || missing+=(python3)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  need_root "installing ${missing[*]}"
  echo "provision: installing ${missing[*]}"
  # Unreachable extra sources make `update` fail; the install below is the real check.
  apt=(apt-get -qq -o DPkg::Lock::Timeout=300 -o Acquire::http::Timeout=30 -o Acquire::https::Timeout=30)
  "${apt[@]}" update || echo "provision: apt-get update reported errors, trying to install anyway" >&2
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y --no-install-recommends "${missing[@]}" \
    >/var/log/ferry-provision-apt.log 2>&1 \
    || { tail -n 30 /var/log/ferry-provision-apt.log >&2; die "apt-get install ${missing[*]} failed"; }
fi
static_busybox || die "busybox on PATH is not statically linked (install busybox-static)"

# --- Docker Engine -------------------------------------------------------------------------
if ! docker info >/dev/null 2>&1; then
  need_root "starting dockerd"
  echo "provision: starting dockerd (log: /var/log/dockerd.log)"
  # No systemd here. Close the lock fd so the daemon does not hold the lock forever.
  setsid dockerd >/var/log/dockerd.log 2>&1 </dev/null 9>&- &
  for _ in $(seq 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 \
    || { tail -n 20 /var/log/dockerd.log >&2; die "dockerd did not answer within 60 s"; }
fi

# Containers the test helpers made (label ferry-test=1) and left behind for over two hours.
cutoff=$(date -d '2 hours ago' +%s)
docker ps -aq --filter label=ferry-test=1 | xargs -r docker inspect -f '{{.Id}} {{.Created}}' |
  while read -r id created; do
    [ "$(date -d "$created" +%s)" -lt "$cutoff" ] && docker rm -f "$id" >/dev/null || true
  done

# --- base images ---------------------------------------------------------------------------
# Debian's busybox has no inotifyd, so the images get this one, busybox's interface:
# inotifyd PROG FILE[:MASK]... runs `PROG EVENTS FILE [SUBFILE]` per event, or prints
# EVENTS<tab>FILE[<tab>SUBFILE] when PROG is "-". Event letter i stands for inotify bit 1<<i.
INOTIFYD_C=$(cat <<'EOF'
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/wait.h>
static const char letters[] = "acew0rmyndDM?uox";
int main(int argc, char **argv) {
  if (argc < 3) { fputs("usage: inotifyd PROG FILE[:MASK]...\n", stderr); return 1; }
  int fd = inotify_init(), n = argc - 2, live = n, wd[n];
  for (int i = 0; i < n; i++) {
    char *colon = strrchr(argv[i + 2], ':');
    unsigned mask = 0;
    for (char *m = colon, *l; m && *++m;) if ((l = strchr(letters, *m)) && *l != '?') mask |= 1u << (l - letters);
    if (colon) *colon = 0;
    wd[i] = inotify_add_watch(fd, argv[i + 2], mask ? mask : IN_ALL_EVENTS);
    if (wd[i] < 0) { perror(argv[i + 2]); return 1; }
  }
  char buf[65536] __attribute__((aligned(8)));
  for (ssize_t len; live > 0 && (len = read(fd, buf, sizeof buf)) > 0;) {
    for (char *p = buf; p < buf + len;) {
      struct inotify_event *e = (struct inotify_event *)p;
      p += sizeof *e + e->len;
      char events[17], *file = "", *sub = e->len ? e->name : NULL;
      int k = 0;
      for (int b = 0; b < 16; b++)
        if ((e->mask >> b & 1) && letters[b] != '?') events[k++] = letters[b];
      events[k] = 0;
      for (int i = 0; i < n; i++) if (wd[i] == e->wd) file = argv[i + 2];
      if (e->mask & IN_IGNORED) live--;
      if (strcmp(argv[1], "-") == 0) {
        printf(sub ? "%s\t%s\t%s\n" : "%s\t%s\n", events, file, sub);
        fflush(stdout);
      } else if (fork() == 0) {
        execlp(argv[1], argv[1], events, file, sub, (char *)NULL);
        perror(argv[1]);
        _exit(127);
      } else {
        wait(NULL);
      }
    }
  }
  return 0;
}
EOF
)
# Each image carries a hash of its recipe, so a changed recipe rebuilds it.
busybox_bin=$(command -v busybox)
recipe=$( { echo "$INOTIFYD_C$USER_DOCKERFILE"; cat "$busybox_bin"; } | sha256sum | cut -c1-16)
image_current() {
  [ "$(docker image inspect -f '{{index .Config.Labels "ferry-test.recipe"}}' "$1" 2>/dev/null)" = "$recipe" ]
}
import_rootfs() { # import_rootfs <image> <sh: busybox|dash> <applet...>
  local image=$1 shell=$2 root; shift 2
  root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/app" "$root/root"
  chmod 1777 "$root/tmp"
  cp "$busybox_bin" "$root/bin/busybox"
  for a in "$@"; do ln -sf busybox "$root/bin/$a"; done
  cp "$work/inotifyd" "$root/bin/inotifyd"
  if [ "$shell" = dash ]; then
    # busybox's sh runs its own applets even when no link names them: dash, with its libraries.
    cp "$(command -v dash)" "$root/bin/sh"
    for lib in $(ldd "$root/bin/sh" | grep -o '/[^ ]*'); do
      mkdir -p "$root$(dirname "$lib")" && cp -L "$lib" "$root$lib"
    done
  fi
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\n' >"$root/etc/group"
  tar -C "$root" -c . | docker import --change "LABEL ferry-test.recipe=$recipe" \
    --change 'ENV PATH=/bin' --change 'CMD ["sh"]' - "$image" >/dev/null \
    || die "docker import of $image failed"
  rm -rf "$root"
}
if ! image_current "$BUSYBOX_IMAGE" || ! image_current "$NOTAR_IMAGE" || ! image_current "$USER_IMAGE"; then
  applets=$(busybox --list | grep -vx busybox)
  for a in $REQUIRED_APPLETS; do
    grep -qxF -- "$a" <<<"$applets" || die "static busybox lacks the applet '$a'"
  done
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cc -static -O2 -o "$work/inotifyd" -x c - <<<"$INOTIFYD_C" || die "compiling inotifyd failed"
  echo "provision: building $BUSYBOX_IMAGE"
  # shellcheck disable=SC2086 # the applet list is split on purpose
  import_rootfs "$BUSYBOX_IMAGE" busybox $applets
  echo "provision: building $NOTAR_IMAGE"
  # shellcheck disable=SC2046
  import_rootfs "$NOTAR_IMAGE" dash $(grep -vxE 'tar|sh' <<<"$applets")
  echo "provision: building $USER_IMAGE"
  # No pulls are possible and BuildKit is not available: the legacy builder, from stdin.
  DOCKER_BUILDKIT=0 docker build -q --label "ferry-test.recipe=$recipe" -t "$USER_IMAGE" - \
    <<<"$USER_DOCKERFILE" >/dev/null 2>"$work/build.log" \
    || { cat "$work/build.log" >&2; die "building $USER_IMAGE failed"; }
  docker image prune -f --filter label=ferry-test.recipe >/dev/null # the replaced ones
fi

# --- registry ------------------------------------------------------------------------------
if ! registry_up; then
  need_root "starting docker-registry"
  echo "provision: starting docker-registry on $REGISTRY (log: $REGISTRY_DIR/registry.log)"
  mkdir -p "$REGISTRY_DIR/data"
  # The packaged config wants htpasswd auth; this one has none and listens on loopback.
  cat >"$REGISTRY_DIR/config.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $REGISTRY_DIR/data
  delete:
    enabled: true
http:
  addr: $REGISTRY
EOF
  setsid docker-registry serve "$REGISTRY_DIR/config.yml" \
    >"$REGISTRY_DIR/registry.log" 2>&1 </dev/null 9>&- &
  for _ in $(seq 60); do registry_up && break; sleep 0.5; done
  registry_up || { tail -n 20 "$REGISTRY_DIR/registry.log" >&2; die "no registry answers on $REGISTRY"; }
fi

# --- old kubectl ---------------------------------------------------------------------------
# kubectl before 1.27 reads only OpenAPI v2; Debian's package is the one at hand. Unpacked, not
# installed, so it never replaces the kubectl on PATH.
if ! "$OLD_KUBECTL" version --client >/dev/null 2>&1; then
  need_root "unpacking the old kubectl"
  echo "provision: unpacking Debian's kubernetes-client into ${OLD_KUBECTL%/usr/bin/kubectl}"
  deb_dir=$(mktemp -d)
  chmod 755 "$deb_dir" # apt's sandbox user downloads into it
  fetch() { (cd "$deb_dir" && apt-get -qq -o Acquire::http::Timeout=30 download kubernetes-client) >/dev/null 2>&1; }
  fetch || { apt-get -qq update >/dev/null 2>&1 || true; fetch; } || die "apt-get download kubernetes-client failed"
  mkdir -p "${OLD_KUBECTL%/usr/bin/kubectl}"
  dpkg-deb -x "$deb_dir"/kubernetes-client_*.deb "${OLD_KUBECTL%/usr/bin/kubectl}"
  rm -rf "$deb_dir"
  "$OLD_KUBECTL" version --client >/dev/null 2>&1 || die "the unpacked kubectl ($OLD_KUBECTL) does not run"
fi

# --- report --------------------------------------------------------------------------------
report() { # report <component> <command...>: "<component> <output>", or fail when it fails
  local out
  out=$("${@:2}" 2>/dev/null) && [ -n "$out" ] || die "$1 does not work: '${*:2}' failed"
  echo "$1 $out"
}
engine_version() { docker version -f '{{.Server.Version}} (client {{.Client.Version}})'; }
registry_version() { registry_up && docker-registry --version | awk '{print $NF}'; }
kubectl_version() { kubectl version --client -o json | sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p'; }
old_kubectl_version() { "$OLD_KUBECTL" version --client -o json | sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p'; }
busybox_version() { busybox | awk '{print $2; exit}'; }
report "docker engine" engine_version
report "images" echo "$BUSYBOX_IMAGE $USER_IMAGE $NOTAR_IMAGE"
report "registry http://$REGISTRY" registry_version
report "docker-compose" docker-compose version --short
report "kubectl" kubectl_version
report "old kubectl $OLD_KUBECTL" old_kubectl_version
report "busybox" busybox_version
