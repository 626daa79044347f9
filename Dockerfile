# ferry in a container: `ferry serve`, the embedded API server and every controller.
#
#   docker build -t ferry .
#   docker run -d --name ferry \
#     -v ferry-data:/data \
#     -v /var/run/docker.sock:/var/run/docker.sock --group-add "$(stat -c %g /var/run/docker.sock)" \
#     -v "$PWD:$PWD" -w "$PWD" \
#     -p 127.0.0.1:7443:7443 \
#     ferry
#   docker cp ferry:/data/kubeconfig ./ferry.kubeconfig   # server https://127.0.0.1:7443, token, CA
#   kubectl --kubeconfig ./ferry.kubeconfig get liveupdates
#
# What the container needs from the host:
# - /data (FERRY_DATA_DIR) is a volume: the SQLite store ferry.db, the credentials (CA, serving
#   certificate, bearer token) and the kubeconfig clients use. ferry keeps it at mode 0700, owned
#   by the ferry user (uid 10001); a bind-mounted host directory must be writable by that uid.
# - The Docker socket, for image builds, Compose services and live updates into containers. It
#   belongs to root and the host's docker group: give the container that group with
#   `--group-add "$(stat -c %g /var/run/docker.sock)"`. Access to the socket is root on the host.
# - The workspace, mounted at the same absolute path as on the host and used as the working
#   directory: paths in API objects (FileWatch watchedPaths, LiveUpdate basePath, Cmd dir,
#   Compose files) are host paths, and build contexts are sent to the host's Engine by path, so
#   they must mean the same file inside and outside the container.
# - A kubeconfig for a dev cluster, if any: mount it and pass `--cluster-kubeconfig FILE`.
#
# Network: the default command listens on 0.0.0.0:7443 inside the container, so that a published
# port reaches it. Publishing the port exposes the API beyond the container: publish it on
# loopback only (`-p 127.0.0.1:7443:7443`). The bearer token is still required on every request
# except /healthz, /livez and /readyz, but whoever holds it can run commands through this daemon.
#
# Build arguments:
# - BASE: the runtime image, a Node 20 (>= 20.19) on glibc. BUILD_BASE: the image dependencies are
#   installed in; it must run the same Node and libc as BASE (native modules are compiled there)
#   and, for NODE_MODULES=install, have python3, make and g++ (node:20-bookworm has them).
# - DOCKER_CLI_IMAGE: where the docker CLI and its plugins (compose, buildx) come from, at
#   /usr/local/bin/docker and /usr/local/libexec/docker/cli-plugins/; build commands and Compose
#   services run them.
# - NODE_MODULES: `install` runs `npm ci`. `prebuilt` takes node_modules from .prebuilt/node_modules
#   in the build context instead: for machines that cannot reach the npm registry, or to reuse a
#   node_modules already compiled for the same Node and libc (the image test does this; it builds
#   FROM a base image imported from the host, since no image can be pulled there).
#   Either way dev dependencies are pruned (tsx is a runtime dependency: ferry runs its sources).

ARG BASE=node:20-bookworm-slim
ARG BUILD_BASE=node:20-bookworm
ARG DOCKER_CLI_IMAGE=docker:27-cli

FROM ${DOCKER_CLI_IMAGE} AS docker-cli

FROM ${BUILD_BASE} AS deps
ARG NODE_MODULES=install
WORKDIR /app
# `.prebuilt*` matches nothing in an ordinary checkout; when .prebuilt/ exists its content
# (node_modules/) lands in /app.
COPY package.json package-lock.json .prebuilt* ./
# npm ci builds native modules (better-sqlite3) against the image's own Node headers when it has them.
RUN set -e; \
    case "$NODE_MODULES" in \
      install) rm -rf node_modules; \
        if [ -f /usr/local/include/node/node.h ]; then export npm_config_nodedir=/usr/local; fi; \
        npm ci --no-audit --no-fund ;; \
      prebuilt) [ -d node_modules ] || { echo "NODE_MODULES=prebuilt needs .prebuilt/node_modules in the build context" >&2; exit 1; } ;; \
      *) echo "NODE_MODULES must be install or prebuilt, not '$NODE_MODULES'" >&2; exit 1 ;; \
    esac; \
    npm prune --omit=dev --no-audit --no-fund; \
    rm -rf /root/.npm

FROM ${BASE}
COPY --from=docker-cli /usr/local/bin/docker /usr/local/bin/docker
COPY --from=docker-cli /usr/local/libexec/docker/cli-plugins/ /usr/local/libexec/docker/cli-plugins/
# The ferry user (uid/gid 10001) owns /data; written into /etc/passwd directly so that this works
# on any base image, with or without useradd.
RUN echo 'ferry:x:10001:10001:ferry:/data:/sbin/nologin' >>/etc/passwd \
 && echo 'ferry:x:10001:' >>/etc/group \
 && mkdir -p /data \
 && chown 10001:10001 /data \
 && chmod 0700 /data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY controllers ./controllers

ENV NODE_ENV=production \
    FERRY_DATA_DIR=/data \
    HOME=/data
VOLUME ["/data"]
USER 10001:10001
EXPOSE 7443

# /healthz needs no token. The probe reads the address and the CA from the kubeconfig the daemon
# writes into the data directory, so it follows --port and verifies the self-signed certificate.
# Node, not curl: the image has no curl. (A daemon started with --kubeconfig runs only the
# controllers and serves no /healthz: run it with --no-healthcheck.)
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const fs=require('fs'),https=require('https');const k=fs.readFileSync(process.env.FERRY_DATA_DIR+'/kubeconfig','utf8');const u=new URL(k.match(/server: *(\\S+)/)[1]);https.get({host:u.hostname,port:u.port,path:'/healthz',ca:Buffer.from(k.match(/certificate-authority-data: *(\\S+)/)[1],'base64'),timeout:4000},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))"]

ENTRYPOINT ["node", "/app/bin/ferry.js"]
CMD ["serve", "--host", "0.0.0.0", "--port", "7443"]
