#!/usr/bin/env bash
# Debian packages the native stack and the tests need. Installs only what is missing, so a warm
# machine pays nothing. Java 17, Maven, Go and cargo come with the polyglot machine; we check them.
set -euo pipefail

need=()
command -v java >/dev/null || need+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need+=(maven)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v cc >/dev/null || need+=(gcc)
# compose.yaml is validated by docker-compose's own schema (no container engine is needed for it).
command -v docker-compose >/dev/null || need+=(docker-compose)
# The audit export's HTML summary is rendered headless in a test.
command -v chromium >/dev/null || need+=(chromium)
# The syslog (CEF) alert channel is tested against a real rsyslog started by the test.
command -v rsyslogd >/dev/null || [[ -x /usr/sbin/rsyslogd ]] || need+=(rsyslog)

if ((${#need[@]})); then
  echo "installing Debian packages: ${need[*]}"
  if [[ $(id -u) -ne 0 ]]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

for tool in go cargo; do
  command -v "$tool" >/dev/null || {
    echo "error: '$tool' is not installed; InfluxDB 2.x is built from source with Go and cargo" >&2
    exit 1
  }
done
