# syntax=docker/dockerfile:1
# Portico container image: a static Go binary on distroless.
#   docker build -t portico .
#   docker run -p 8080:8080 -e DATABASE_URL=... -e PORTICO_SECRET=... portico
#   docker run portico migrate          (any subcommand; the default is `serve`)

FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so editing code does not re-download them.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# Templates, static assets and migrations are embedded: the binary is all we ship.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /portico ./cmd/portico
# A writable working directory for the non-root user (e.g. the embedded SQLite default).
RUN mkdir -p /out/app/data

# static-debian12 has CA certificates and tzdata, no shell; runs as uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /portico /usr/local/bin/portico
COPY --from=build --chown=65532:65532 /out/app /app
WORKDIR /app
ENV PORT=8080
EXPOSE 8080
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/portico"]
CMD ["serve"]
