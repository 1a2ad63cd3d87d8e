#!/usr/bin/env bash
# Build Prometheus Alertmanager (Apache-2.0) from its Go module into
# ~/.cache/sovwatch/alertmanager-<version>/bin/alertmanager, for `sovwatch stack up --with
# alertmanager` and the alert-delivery integration tests. Like influxdb.sh: no prebuilt binary, the
# module proxy gives the source; only ./cmd/alertmanager is built (no amtool). The module does not
# ship the compiled web UI (ui/app/dist, built with npm upstream): a one-page stub is embedded
# instead, so the binary serves the HTTP API (/api/v2) only, like influxd without its assets.
# Idempotent: a cached build is reused.
set -euo pipefail

VERSION="${SOVWATCH_ALERTMANAGER_VERSION:-0.35.0}"

# shellcheck source=docker/native/go-module.sh
source "$(dirname "${BASH_SOURCE[0]}")/go-module.sh"
go_recipe alertmanager "$VERSION" alertmanager
go_module_source "github.com/prometheus/alertmanager@v$VERSION"

echo "== building alertmanager (API only: stub UI pages)"
for ui in elm mantine; do
  mkdir -p "ui/app/dist/$ui"
  echo '<!doctype html><title>Alertmanager</title><p>Web UI not built: use the API (/api/v2).' \
    > "ui/app/dist/$ui/index.html"
done
go_build_binary ./cmd/alertmanager \
  -ldflags "-X github.com/prometheus/common/version.Version=$VERSION"
