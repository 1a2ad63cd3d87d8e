#!/usr/bin/env bash
# Quix Streams pins pydantic < 2.14 and pydantic-settings < 2.16, which sovwatch cannot use: the
# Quix peer of bench_peers.py runs from its own venv. Idempotent.
set -euo pipefail
VENV="${SOVWATCH_CACHE:-$HOME/.cache/sovwatch}/quix-venv"
if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c "import quixstreams, influxdb_client" 2>/dev/null; then
  echo "quix venv ready at $VENV"
  exit 0
fi
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q "quixstreams==3.28.1" "influxdb-client==1.50.0"
echo "quix venv ready at $VENV"
