# syntax=docker/dockerfile:1
# The reconciler's one image: every function (Knative Service `args: ["function", "<name>"]`)
# and the local runtime (standalone Deployment `args: ["run", ...]`), from `npm run build`'s
# output. README "Build and image" says why one image, why distroless, and how to build it:
#   docker build -t supabase-reconciler:0.1.0 .
# test/build/build.test.ts checks that every path the COPY lines take from the build stage
# exists after `npm run build`.

ARG BUILD_IMAGE=node:24-slim
# Node 24 on Debian 13 with no shell and no package manager; user nonroot is uid 65532.
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian13:nonroot

# 1. Build: every dependency (esbuild is a devDependency), then the bundles into /src/dist.
#    No install scripts: the build needs none (esbuild's binary comes as an npm package).
FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
RUN npm run build && mkdir /compile-cache

# 2. Node's compile cache, made by the runtime image's own node (the cache is keyed by the Node
#    version and the file's path and contents, and its folder is named per uid), as the user
#    and at the path the image runs with. `--help` loads cli.mjs and every chunk a function
#    needs to start; what loads on first use (the Kubernetes client) is compiled then.
FROM ${RUNTIME_IMAGE} AS compile-cache
COPY --from=build /src/dist/ /app/
COPY --from=build --chown=65532:65532 /compile-cache/ /compile-cache/
ENV NODE_ENV=production NODE_COMPILE_CACHE=/compile-cache
USER 65532:65532
RUN ["/nodejs/bin/node", "/app/cli.mjs", "--help"]

# 3. Runtime: the bundles (no node_modules: every dependency is in them), the migrations and
#    manifests they read, the warmed cache, read-only (owned by root). Nothing is written
#    outside /tmp: the local runtime's state goes to /tmp (an emptyDir in the Deployment), and
#    a read-only root filesystem only stops node from adding to the cache.
FROM ${RUNTIME_IMAGE}
COPY --from=build /src/dist/ /app/
COPY --from=compile-cache --chown=0:0 /compile-cache/ /app/compile-cache/
ENV NODE_ENV=production \
    NODE_COMPILE_CACHE=/app/compile-cache \
    SUPABASE_RECONCILER_STATE_DIR=/tmp/supabase-reconciler
USER 65532:65532
WORKDIR /app
ENTRYPOINT ["/nodejs/bin/node", "/app/cli.mjs"]
CMD ["--help"]
