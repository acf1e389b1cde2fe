#!/usr/bin/env bash
# Run every crosspost benchmark once and print all their JSON lines (one per figure).
#   benchmarks/run_all.sh            full sizes (about 5 minutes on 2 cores; needs ~6 GB of /tmp, sparse)
#   benchmarks/run_all.sh --quick    tiny sizes (seconds): keeps the scripts working in CI
# Uses $PYTHON, else .venv/bin/python beside this folder, else python3. For medians over several
# runs use benchmarks/repeat.py (see BENCHMARKS.md).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
python="${PYTHON:-}"
if [ -z "$python" ]; then
  if [ -x "$root/.venv/bin/python" ]; then python="$root/.venv/bin/python"; else python=python3; fi
fi
for script in machine startup scheduler storage_claims statements_per_post upload_memory upload_throughput engine_overhead cli_post fanout; do
  # storage_claims.py (claims per second by worker count, SQLite vs PostgreSQL) belongs to the
  # storage work and may not be there yet.
  if [ -f "$here/$script.py" ]; then
    "$python" "$here/$script.py" "$@"
  fi
done
