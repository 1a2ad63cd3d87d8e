#!/usr/bin/env bash
# Build Telegraf from its Go module into ~/.cache/sovwatch/telegraf-<version>/bin/telegraf, for the
# peer benchmark (tests/bench/bench_peers.py) and the collector tests (tests/integration/collectors).
# Like influxdb.sh: no prebuilt binary, the module proxy gives the source. A "custom" build with
# only the plugins those use (Kafka consumer, JSON parsers, InfluxDB v2 output for the benchmark;
# nvidia_smi, redfish, ipmi_sensor, Kafka output, json and influx serializers for a site's
# collector) keeps the build to a few minutes. Idempotent: a cached build of another plugin set
# (recorded in plugins.txt) is rebuilt.
set -euo pipefail

VERSION="${SOVWATCH_TELEGRAF_VERSION:-1.37.2}"  # the only Telegraf version the proxy here serves
CACHE_ROOT="${SOVWATCH_CACHE:-$HOME/.cache/sovwatch}"
PREFIX="$CACHE_ROOT/telegraf-$VERSION"
BIN="$PREFIX/bin/telegraf"
tags="custom,inputs.kafka_consumer,outputs.influxdb_v2,parsers.json,parsers.json_v2"
tags+=",inputs.nvidia_smi,inputs.redfish,inputs.ipmi_sensor,outputs.kafka"
tags+=",serializers.json,serializers.influx"

if [[ -x "$BIN" && "$(cat "$PREFIX/plugins.txt" 2>/dev/null)" == "$tags" ]]; then
  echo "telegraf $VERSION cached at $BIN"
  exit 0
fi
command -v go >/dev/null || { echo "error: 'go' is required to build Telegraf $VERSION" >&2; exit 1; }

# shellcheck source=docker/native/go-module.sh
source "$(dirname "${BASH_SOURCE[0]}")/go-module.sh"
go_module_source "github.com/influxdata/telegraf@v$VERSION"

echo "== building telegraf (tags $tags)"
mkdir -p "$PREFIX/bin"
go build -tags "$tags" -ldflags "-X github.com/influxdata/telegraf/internal.Version=$VERSION" \
  -o "$BIN.tmp" ./cmd/telegraf
mv "$BIN.tmp" "$BIN"
echo "$tags" > "$PREFIX/plugins.txt"
rm -rf "$src"
echo "== telegraf $VERSION built in $(( $(date +%s) - start ))s: $BIN"
