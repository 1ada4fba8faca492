# syntax=docker/dockerfile:1
# One image for the worker, the API, the codec server and the Plural sandbox; docker-compose.yml picks the process by
# `command`. The TypeScript is compiled once (`npm run build`: tsc into dist/, plus the workflow bundle) and the
# runtime runs `node` on that JavaScript, with the production dependencies only: no TypeScript loader, no sources.
# Node 24 (Krypton, LTS until April 2028; @temporalio/* 1.24 supports it) on Debian 13 (trixie), the current stable.

ARG NODE_VERSION=24.22.3

# --- build: every dependency from the lockfile, then the compiled JavaScript and the workflow bundle ----------------
FROM node:${NODE_VERSION}-trixie-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY activities activities
COPY api api
COPY card-vault card-vault
COPY merchant-webhooks merchant-webhooks
COPY config config
COPY observability observability
COPY payload-codec payload-codec
COPY plural-client plural-client
COPY plural-sandbox plural-sandbox
COPY worker worker
COPY workflows workflows
RUN npm run build

# --- prod-deps: runtime dependencies only -------------------------------------------------------------------------
FROM node:${NODE_VERSION}-trixie-slim AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# --- runtime ----------------------------------------------------------------------------------------------------------
FROM node:${NODE_VERSION}-trixie-slim AS runtime
ENV NODE_ENV=production \
    WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js
WORKDIR /app
COPY --from=prod-deps --chown=root:root /app/node_modules node_modules
COPY --chown=root:root package.json ./
COPY --from=build --chown=root:root /app/dist dist
# The code stays owned by root and read-only to the process; `node` (uid 1000) ships with the official image.
USER node
EXPOSE 8080 8081 8090 9464
CMD ["node", "dist/api/server.js"]
