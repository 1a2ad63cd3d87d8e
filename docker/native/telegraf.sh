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
tags="custom,inputs.kafka_consumer,outputs.influxdb_v2,parsers.json,parsers.json_v2"
tags+=",inputs.nvidia_smi,inputs.redfish,inputs.ipmi_sensor,outputs.kafka"
tags+=",serializers.json,serializers.influx"

# shellcheck source=docker/native/go-module.sh
source "$(dirname "${BASH_SOURCE[0]}")/go-module.sh"
go_recipe telegraf "$VERSION" telegraf "$tags"
go_module_source "github.com/influxdata/telegraf@v$VERSION"

echo "== building telegraf (tags $tags)"
echo "$tags" > "$PREFIX/plugins.txt.new"
go_build_binary ./cmd/telegraf -tags "$tags" \
  -ldflags "-X github.com/influxdata/telegraf/internal.Version=$VERSION"
mv "$PREFIX/plugins.txt.new" "$PREFIX/plugins.txt"
