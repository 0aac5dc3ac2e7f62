# Reconbanker service image: the compiled JavaScript (npm run build) on Node 24 LTS, with
# Debian's Chromium (bank sessions use it; Playwright never downloads a browser). The database
# is MongoDB, given by MONGODB_URI (see docker-compose.yml): production refuses the embedded one.

# Build stage: every package (TypeScript included), then the JavaScript in dist/.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY commands ./commands
COPY adapters ./adapters
RUN npm run build

# Runtime: production packages only (no tsx, pino-pretty or mongodb-memory-server), and dist/.
FROM node:24-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium ca-certificates fonts-liberation tini \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
ENV NODE_ENV=production \
    DATA_DIR=/data \
    CHROMIUM_PATH=/usr/bin/chromium \
    CHAT_CONSOLE=off \
    LOG_FORMAT=json
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
# Not root: Chromium keeps its sandbox where the container allows user namespaces
# (CHROMIUM_SANDBOX=auto falls back, with a warning in the log, where it does not).
USER node
VOLUME ["/data"]

# Ready = the service answers and its database does (a readiness file the service rewrites
# every 10 s in DATA_DIR; see README "Health check"). No port or curl needed. A process with
# the api role is better checked by its readiness endpoint: docker-compose.yml overrides this
# with `healthcheck.js http://127.0.0.1:3000/ready` for it.
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 CMD ["node", "dist/src/healthcheck.js"]

ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/src/main.js", "start"]
