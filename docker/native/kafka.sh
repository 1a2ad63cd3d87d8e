#!/usr/bin/env bash
# Fetch the Apache Kafka broker's jars from Maven Central into ~/.cache/sovwatch/kafka-<version>/libs.
# Idempotent: an existing libs/ directory with the broker jar is reused.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/kafka/pom.xml")"
CACHE_ROOT="${SOVWATCH_CACHE:-$HOME/.cache/sovwatch}"
LIBS="$CACHE_ROOT/kafka-$VERSION/libs"

if compgen -G "$LIBS/kafka_2.13-$VERSION.jar" >/dev/null; then
  echo "kafka $VERSION cached at $LIBS"
  exit 0
fi
command -v mvn >/dev/null || { echo "error: Maven (mvn) is required to fetch Kafka $VERSION" >&2; exit 1; }
command -v java >/dev/null || { echo "error: Java 17+ is required to run Kafka $VERSION" >&2; exit 1; }

rm -rf "$LIBS.tmp"
mvn -q -B -f "$here/kafka/pom.xml" dependency:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$LIBS.tmp"
rm -rf "$LIBS"
mv "$LIBS.tmp" "$LIBS"
echo "kafka $VERSION: $(ls "$LIBS" | wc -l) jars in $LIBS"
