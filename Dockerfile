# syntax=docker/dockerfile:1
# Commander's image: `commander gateway`, `manager`, `migrate` and `agent` (docs/deploy.md).
# build compiles the TypeScript and the web application with every dependency; deps installs the
# production dependencies alone; the last stage holds those, the compiled output and the
# migrations, and runs as an unprivileged user. test/e2e/image.test.ts assembles what these stages would, from this file.
ARG NODE_VERSION=20.20

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY cli ./cli
COPY gateway ./gateway
COPY manager ./manager
COPY agent ./agent
COPY shared ./shared
RUN npx tsc -p tsconfig.build.json
# The web application (web/, with the template engine and params from shared/) into dist/web.
COPY web ./web
RUN npx vite build --config web/vite.config.ts --logLevel warn

FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# No scripts: the root's prepare (the build) needs the dev dependencies, and the dependencies'
# native builds are optional (bufferutil ships prebuilt binaries, ssh2 falls back to JavaScript).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:${NODE_VERSION}-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY shared/db/migrations ./shared/db/migrations
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["node", "--initial-old-space-size=64", "/app/dist/cli/main.js"]
CMD ["--help"]
