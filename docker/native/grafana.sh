#!/usr/bin/env bash
# Build Grafana OSS (backend only) from its Go module into ~/.cache/sovwatch/grafana-<version>/.
# No prebuilt binary is downloaded: the Go module proxy gives the source. Grafana's module path has
# no major-version suffix, so its releases are not valid module versions; the proxy serves
# commits as pseudo-versions (v1.9.2-0.<time>-<commit>), pinned below. The frontend (webpack/yarn)
# is not built: the HTTP API, provisioning and /api/ds/query work, the browser UI does not.
# Idempotent: a cached build is reused. What the server needs at run time is kept beside the
# binary (conf/defaults.ini, the core plugins' plugin.json under public/app/plugins/), so the
# server runs with --homepath "$PREFIX/home".
set -euo pipefail

VERSION="${SOVWATCH_GRAFANA_VERSION:-10.0.0-pre.81d85ce}"
MODULE_VERSION="${SOVWATCH_GRAFANA_MODULE_VERSION:-v1.9.2-0.20230609164553-81d85ce8028d}"
WIRE_VERSION="${SOVWATCH_WIRE_VERSION:-v0.7.0}"
CACHE_ROOT="${SOVWATCH_CACHE:-$HOME/.cache/sovwatch}"
PREFIX="$CACHE_ROOT/grafana-$VERSION"
BIN="$PREFIX/bin/grafana"
HOME_DIR="$PREFIX/home"

if [[ -x "$BIN" && -f "$HOME_DIR/conf/defaults.ini" ]]; then
  echo "grafana $VERSION cached at $BIN (homepath $HOME_DIR)"
  exit 0
fi

command -v go >/dev/null || { echo "error: 'go' is required to build Grafana $VERSION" >&2; exit 1; }

# shellcheck source=docker/native/go-module.sh
source "$(dirname "${BASH_SOURCE[0]}")/go-module.sh"
go_module_source "github.com/grafana/grafana@$MODULE_VERSION"

if [[ ! -f pkg/server/wire_gen.go ]]; then
  # Grafana's Makefile: `wire gen -tags oss ./pkg/server`. The wire pinned in this Grafana's
  # go.mod loads packages with a golang.org/x/tools that crashes on current Go; a newer wire
  # (built in its own module) generates the same code.
  echo "== generating pkg/server/wire_gen.go (google/wire $WIRE_VERSION, tags oss)"
  go run "github.com/google/wire/cmd/wire@$WIRE_VERSION" gen -tags oss ./pkg/server
fi

echo "== building grafana (backend only; no frontend bundle)"
mkdir -p "$PREFIX/bin"
# -checklinkname=0: some of this Grafana's dependencies reach runtime internals through
# go:linkname, which newer Go linkers refuse by default.
go build -ldflags "-w -checklinkname=0 -X main.version=$VERSION -X main.commit=${MODULE_VERSION##*-}" \
  -o "$BIN.tmp" ./pkg/cmd/grafana
mv "$BIN.tmp" "$BIN"

echo "== keeping the run-time files (conf/, core plugin manifests under public/)"
rm -rf "$HOME_DIR"
mkdir -p "$HOME_DIR"
cp -r conf "$HOME_DIR/conf"
# Core plugins are found by their plugin.json under public/app/plugins/{datasource,panel}/;
# the TypeScript beside them is frontend source that this build never serves.
(cd public && find app/plugins \( -name plugin.json -o -name '*.svg' -o -name '*.png' \) -print0 |
  xargs -0 -I{} sh -c 'mkdir -p "$0/public/$(dirname "{}")" && cp "{}" "$0/public/{}"' "$HOME_DIR")
for dir in public/views public/emails public/img; do
  [[ -d "$dir" ]] && mkdir -p "$HOME_DIR/$(dirname "$dir")" && cp -r "$dir" "$HOME_DIR/$dir"
done
cd "$PREFIX"
rm -rf "$src"
echo "== grafana $VERSION built in $(( $(date +%s) - start ))s: $BIN (homepath $HOME_DIR)"
