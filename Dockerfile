# syntax=docker/dockerfile:1
# One image for the worker, the API, the codec server and the Plural sandbox; docker-compose.yml picks the process by `command`.
# The processes run their TypeScript through tsx's loader (`node --import tsx`), as `npm run worker|api|sandbox` do,
# so the image runs exactly the code the tests run; only tsx and esbuild are kept from the dev dependencies.

ARG NODE_VERSION=20.20.2

# --- deps: every dependency, from the lockfile --------------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# --- build: the workflow bundle, ahead of time (workers start without bundling) ------------------------------------
FROM deps AS build
COPY tsconfig.json ./
COPY workflows workflows
COPY activities activities
COPY config config
COPY observability observability
COPY plural-client plural-client
COPY card-vault card-vault
COPY payload-codec payload-codec
COPY worker worker
RUN npm run build:workflows -- dist/workflow-bundle.js

# --- prod-deps: runtime dependencies only, plus the TypeScript loader -----------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY --from=deps /app/node_modules/tsx node_modules/tsx
COPY --from=deps /app/node_modules/esbuild node_modules/esbuild
COPY --from=deps /app/node_modules/@esbuild node_modules/@esbuild

# --- runtime ----------------------------------------------------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js
WORKDIR /app
COPY --from=prod-deps --chown=root:root /app/node_modules node_modules
COPY --chown=root:root package.json tsconfig.json ./
COPY --chown=root:root workflows workflows
COPY --chown=root:root activities activities
COPY --chown=root:root config config
COPY --chown=root:root observability observability
COPY --chown=root:root plural-client plural-client
COPY --chown=root:root card-vault card-vault
COPY --chown=root:root payload-codec payload-codec
COPY --chown=root:root worker worker
COPY --chown=root:root api api
COPY --chown=root:root plural-sandbox plural-sandbox
COPY --from=build --chown=root:root /app/dist/workflow-bundle.js dist/workflow-bundle.js
# The code stays owned by root and read-only to the process; `node` (uid 1000) ships with the official image.
USER node
EXPOSE 8080 8081 8090 9464
CMD ["node", "--import", "tsx", "api/server.ts"]
