#!/usr/bin/env bash
# Build InfluxDB OSS 2.x (influxd) from its Go module into ~/.cache/sovwatch/influxdb-<version>/.
# No prebuilt binary is downloaded: the Go module proxy gives the source, libflux is built by
# cargo from crates.io through InfluxData's pkg-config wrapper. Idempotent: a cached build is reused.
set -euo pipefail

VERSION="${SOVWATCH_INFLUXDB_VERSION:-2.9.1}"

# shellcheck source=docker/native/go-module.sh
source "$(dirname "${BASH_SOURCE[0]}")/go-module.sh"
go_recipe influxdb "$VERSION" influxd
command -v cargo >/dev/null || { echo "error: 'cargo' is required to build InfluxDB $VERSION" >&2; exit 1; }
go_module_source "github.com/influxdata/influxdb/v2@v$VERSION"

echo "== building InfluxData's pkg-config wrapper (it builds libflux with cargo)"
mkdir -p "$PREFIX/tools"
go build -o "$PREFIX/tools/pkg-config" github.com/influxdata/pkg-config
export PKG_CONFIG="$PREFIX/tools/pkg-config"
# flux pins an old toolchain in rust-toolchain.toml and denies warnings: use the installed one.
RUSTUP_TOOLCHAIN="${RUSTUP_TOOLCHAIN:-$(rustup show active-toolchain 2>/dev/null | awk '{print $1}' || echo stable)}"
export RUSTUP_TOOLCHAIN
export RUSTFLAGS="${RUSTFLAGS:---cap-lints=warn}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-$(nproc)}"

echo "== building influxd (no 'assets' tag: HTTP API only, no UI)"
go_build_binary ./cmd/influxd -tags sqlite_foreign_keys,sqlite_json \
  -ldflags "-X main.version=$VERSION -X main.commit=gomod"
