#!/usr/bin/env bash
# Build an OpenTelemetry Collector (Apache-2.0) into ~/.cache/sovwatch/otelcol-<version>/bin/otelcol,
# for a site that ships dcgm-exporter metrics as OTLP over Kafka (`sovwatch collect
# otelcol-config`) and the collector tests (tests/integration/collectors). Like telegraf.sh: no
# prebuilt binary, the module proxy gives the source. The main in docker/native/otelcol/ picks only
# the prometheus receiver and the kafka exporter; every collector module is at ONE release (core
# v$VERSION / v1.71.0, contrib v0.165.1, pinned in its go.mod and go.sum). Idempotent: a cached
# build of another main (recorded in plugins.txt as its sources' hash) is rebuilt.
set -euo pipefail

VERSION="0.165.0"  # go.opentelemetry.io/collector/otelcol in docker/native/otelcol/go.mod
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
stamp="$(cd "$here/otelcol" && cat main.go go.mod go.sum | sha256sum | cut -d' ' -f1)"

# shellcheck source=docker/native/go-module.sh
source "$here/go-module.sh"
go_recipe otelcol "$VERSION" otelcol "$stamp"
go_local_source "$here/otelcol"

echo "== building otelcol (prometheus receiver, kafka exporter)"
echo "$stamp" > "$PREFIX/plugins.txt.new"
go_build_binary . -trimpath -ldflags "-s -w -X main.version=$VERSION"
mv "$PREFIX/plugins.txt.new" "$PREFIX/plugins.txt"
