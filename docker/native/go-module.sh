# Sourced by the recipes that build a Go module (influxdb.sh, telegraf.sh, alertmanager.sh,
# otelcol.sh).
# Not executable on its own.

# go_recipe NAME VERSION BINARY [STAMP]: set PREFIX (~/.cache/sovwatch/NAME-VERSION, or under
# $SOVWATCH_CACHE) and BIN ($PREFIX/bin/BINARY); exit 0 if that build is cached already (with
# STAMP: only if $PREFIX/plugins.txt holds it, i.e. the same plugin set), else check that `go`
# is there.
go_recipe() {
  local name=$1 version=$2 binary=$3 stamp=${4:-}
  PREFIX="${SOVWATCH_CACHE:-$HOME/.cache/sovwatch}/$name-$version"
  BIN="$PREFIX/bin/$binary"
  if [[ -x "$BIN" && ( -z "$stamp" || "$(cat "$PREFIX/plugins.txt" 2>/dev/null)" == "$stamp" ) ]]; then
    echo "$binary $version cached at $BIN"
    exit 0
  fi
  command -v go >/dev/null || { echo "error: 'go' is required to build $name $version" >&2; exit 1; }
}

# go_build_log: log the build to $PREFIX/build.log and set `start` (epoch seconds) for the
# build-time report; the module proxy only, no workspace, no other toolchain.
go_build_log() {
  mkdir -p "$PREFIX"
  exec > >(tee "$PREFIX/build.log") 2>&1
  start=$(date +%s)
  export GOTOOLCHAIN=local GOFLAGS=-mod=mod GOWORK=off
}

# go_local_source DIR: like go_module_source for a module checked into this repo (a main that
# picks its components): copy DIR into $PREFIX/src, so resolving its go.sum never edits the repo,
# then cd into it.
go_local_source() {
  go_build_log
  echo "== copying $1"
  src="$PREFIX/src"
  rm -rf "$src"
  cp -r "$1" "$src"
  cd "$src"
}

# go_module_source MODULE@VERSION: log the build to $PREFIX/build.log, download the module with
# the module proxy and copy it into a writable tree ($PREFIX/src: the module cache is read-only),
# then cd into it. Sets `start` (epoch seconds) for the build-time report.
go_module_source() {
  local module=$1 moddir
  go_build_log
  echo "== downloading $module"
  moddir=$(cd "$PREFIX" && go mod download -json "$module" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [[ -d "$moddir" ]] || { echo "error: go mod download $module gave no directory" >&2; exit 1; }
  src="$PREFIX/src"
  rm -rf "$src"
  cp -r "$moddir" "$src"
  chmod -R u+w "$src"
  cd "$src"
}

# go_build_binary PACKAGE [go build flags...]: build PACKAGE of the source tree into $BIN (via a
# temporary file, so an interrupted build leaves no binary that looks cached), drop the tree
# and report the time.
go_build_binary() {
  local package=$1
  shift
  mkdir -p "$PREFIX/bin"
  go build "$@" -o "$BIN.tmp" "$package"
  mv "$BIN.tmp" "$BIN"
  rm -rf "$src"
  echo "== $(basename "$BIN") built in $(( $(date +%s) - start ))s: $BIN"
}
