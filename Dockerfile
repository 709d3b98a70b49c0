# doom-ops as a container: `doom-ops serve` (MCP over HTTP, /healthz, the Slack bot) by default,
# or any other doom-ops command. Build with scripts/build-image.sh on a machine without registry
# access (it makes the Node base image locally and supplies npm's offline cache), or directly:
#   docker build --build-arg NODE_IMAGE=node:20-bookworm-slim -t doom-ops .
ARG NODE_IMAGE=doom-ops/node-base:20

FROM ${NODE_IMAGE} AS build
WORKDIR /build
COPY package.json package-lock.json ./
# Filled by scripts/build-image.sh with npm's cache where containers cannot reach the registry;
# empty otherwise. Install scripts are skipped: doom-ops needs no native build (DuckDB ships
# prebuilt, and ssh2, which dockerode loads, falls back to pure JavaScript).
COPY docker/npm-cache/ /tmp/npm-cache/
RUN if [ -d /tmp/npm-cache/_cacache ]; then offline=--offline; else offline=; fi \
 && npm ci $offline --cache /tmp/npm-cache --ignore-scripts --no-audit --no-fund \
 && rm -rf /tmp/npm-cache
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --offline --ignore-scripts --no-audit --no-fund
# Marks the images a build makes (this stage's too, which the classic builder keeps untagged), so
# whoever built them can find and remove them: the tests pass a run id and remove theirs at the end.
# Last in the stage, so the steps above still come from the build cache.
ARG BUILD_ID=local
LABEL doom-ops.build=${BUILD_ID}

FROM ${NODE_IMAGE}
LABEL org.opencontainers.image.title="doom-ops" \
      org.opencontainers.image.description="ChatOps bot and MCP server for the clau-doom stack"
# restic, which backups are written with: the locally made base has this machine's
# (docker/make-node-base.sh); another base (node:20-bookworm-slim) gets Debian's package. The build
# fails here if it cannot run.
RUN command -v restic >/dev/null 2>&1 \
 || { apt-get update && apt-get install -y --no-install-recommends restic ca-certificates \
      && rm -rf /var/lib/apt/lists/*; } \
 && restic version
WORKDIR /app
COPY --from=build /build/package.json ./
COPY --from=build /build/node_modules ./node_modules
COPY --from=build /build/dist/src ./dist/src
COPY config ./config
COPY docker/doom-ops ./bin/doom-ops
# State (approvals, audit log, event recorder) and backups live on a volume owned by the
# unprivileged user; the Docker socket is reached through a supplementary group (see README).
RUN mkdir -p /var/lib/doom-ops/backups && chown -R 1000:1000 /var/lib/doom-ops
ENV NODE_ENV=production \
    PATH=/app/bin:/usr/local/bin:/usr/bin:/bin \
    DOOM_OPS_STATE_DIR=/var/lib/doom-ops \
    DOOM_OPS_BACKUP_DIR=/var/lib/doom-ops/backups \
    DOOM_OPS_HTTP_HOST=0.0.0.0 \
    DOOM_OPS_HTTP_PORT=7801
VOLUME /var/lib/doom-ops
USER 1000:1000
EXPOSE 7801
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.DOOM_OPS_HTTP_PORT||7801)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["doom-ops"]
CMD ["serve"]
ARG BUILD_ID=local
LABEL doom-ops.build=${BUILD_ID}
