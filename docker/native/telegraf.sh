#!/usr/bin/env bash
# Build Telegraf from its Go module into ~/.cache/sovwatch/telegraf-<version>/bin/telegraf, for the
# peer benchmark (bench/bench_peers.py). Like influxdb.sh: no prebuilt binary, the module proxy
# gives the source. A "custom" build with only the plugins the benchmark uses (Kafka consumer,
# JSON parsers, InfluxDB v2 output) keeps the build to a few minutes. Idempotent.
set -euo pipefail

VERSION="${SOVWATCH_TELEGRAF_VERSION:-1.37.2}"  # the only Telegraf version the proxy here serves
CACHE_ROOT="${SOVWATCH_CACHE:-$HOME/.cache/sovwatch}"
PREFIX="$CACHE_ROOT/telegraf-$VERSION"
BIN="$PREFIX/bin/telegraf"

if [[ -x "$BIN" ]]; then
  echo "telegraf $VERSION cached at $BIN"
  exit 0
fi
command -v go >/dev/null || { echo "error: 'go' is required to build Telegraf $VERSION" >&2; exit 1; }

# shellcheck source=docker/native/go-module.sh
source "$(dirname "${BASH_SOURCE[0]}")/go-module.sh"
go_module_source "github.com/influxdata/telegraf@v$VERSION"

tags="custom,inputs.kafka_consumer,outputs.influxdb_v2,parsers.json,parsers.json_v2"
echo "== building telegraf (tags $tags)"
mkdir -p "$PREFIX/bin"
go build -tags "$tags" -ldflags "-X github.com/influxdata/telegraf/internal.Version=$VERSION" \
  -o "$BIN.tmp" ./cmd/telegraf
mv "$BIN.tmp" "$BIN"
rm -rf "$src"
echo "== telegraf $VERSION built in $(( $(date +%s) - start ))s: $BIN"
