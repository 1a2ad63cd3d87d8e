# Sourced by the recipes that build a Go module (influxdb.sh, telegraf.sh, alertmanager.sh).
# Not executable on its own.

# go_module_source MODULE@VERSION: log the build to $PREFIX/build.log, download the module with
# the module proxy and copy it into a writable tree ($PREFIX/src: the module cache is read-only),
# then cd into it. Sets `start` (epoch seconds) for the build-time report.
go_module_source() {
  local module=$1 moddir
  mkdir -p "$PREFIX"
  exec > >(tee "$PREFIX/build.log") 2>&1
  start=$(date +%s)
  export GOTOOLCHAIN=local GOFLAGS=-mod=mod GOWORK=off
  echo "== downloading $module"
  moddir=$(cd "$PREFIX" && go mod download -json "$module" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  [[ -d "$moddir" ]] || { echo "error: go mod download $module gave no directory" >&2; exit 1; }
  src="$PREFIX/src"
  rm -rf "$src"
  cp -r "$moddir" "$src"
  chmod -R u+w "$src"
  cd "$src"
}
