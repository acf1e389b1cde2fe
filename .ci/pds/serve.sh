#!/usr/bin/env bash
# Installs (cached) and starts the reference PDS + local PLC on 127.0.0.1 in the background.
#
#   eval "$(.ci/pds/serve.sh)"     # exports CROSSPOST_TEST_PDS and CROSSPOST_TEST_PDS_PID
#
# Prints `export` lines on stdout; progress and errors on stderr. Exits non-zero (printing
# nothing on stdout) when Node, the registry or the server is not available: the real-PDS
# tests then skip, saying how to run them. Stop it with: kill "$CROSSPOST_TEST_PDS_PID".
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
install_dir="$("$here/install.sh")"
node_bin="$(cat "$install_dir/.node")"
run_dir="$(mktemp -d "${TMPDIR:-/tmp}/crosspost-pds.XXXXXX")"
ready="$run_dir/ready.json"
(cd "$install_dir" && exec "$node_bin" start.mjs --data "$run_dir/data" --ready "$ready" \
  >"$run_dir/server.log" 2>&1) &
pid=$!
for _ in $(seq 1 120); do
  [ -f "$ready" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "the PDS exited while starting; its log:" >&2
    tail -20 "$run_dir/server.log" >&2
    exit 1
  fi
  sleep 0.25
done
if [ ! -f "$ready" ]; then
  echo "the PDS did not start within 30 s; log in $run_dir/server.log" >&2
  kill "$pid" 2>/dev/null || true
  exit 1
fi
url="$("$node_bin" -p "JSON.parse(require('fs').readFileSync('$ready','utf8')).url")"
echo "export CROSSPOST_TEST_PDS=$url"
echo "export CROSSPOST_TEST_PDS_PID=$pid"
echo "export CROSSPOST_TEST_PDS_DIR=$run_dir"
