# Reconbanker service image: Node 20 with Debian's Chromium (bank sessions use it; Playwright
# never downloads a browser). The database is MongoDB, given by MONGODB_URI (see docker-compose.yml).
FROM node:20-bookworm-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium ca-certificates fonts-liberation tini \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY commands ./commands
COPY adapters ./adapters

ENV NODE_ENV=production \
    DATA_DIR=/data \
    CHROMIUM_PATH=/usr/bin/chromium \
    CHAT_CONSOLE=off \
    LOG_FORMAT=json
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]

ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--import", "tsx", "src/main.ts", "start"]
