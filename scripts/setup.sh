#!/usr/bin/env bash
# Idempotent setup, run before `npm test`, `npm run demo` and `npm run bench`:
# system packages (apt-get, when root and missing), npm ci (when node_modules is missing or stale),
# the native oneDNN addon (when its sources or the CPU changed; a failure is a warning), the TypeScript build
# (when sources changed). Each step is skipped in milliseconds when there is nothing to do.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "[setup] $*" >&2; }
# the logs of the steps that can fail stay in the checkout (ignored by git), not in the system temp folder
mkdir -p .setup-stamps
# a content hash of the files under the given paths (missing paths count as empty)
hash_of() { { find "$@" -type f 2>/dev/null || true; } | LC_ALL=C sort | xargs -r sha1sum | sha1sum | cut -c1-40; }

# 1. System packages: a compiler toolchain and oneDNN for the native backend; chromium for the browser tests;
# Mesa's EGL and llvmpipe give the webgpu backend an adapter on machines without a GPU (tests);
# redis-server: the queue tests start their own on a free loopback port (lvseg search|cv|predict --queue);
# fonts-dejavu-core: DejaVu Sans Mono, the text of the PNG figures (resvg reads its files, src/reporting/scene.ts).
system_packages=(g++ make python3 libdnnl-dev chromium libegl1 libegl-mesa0 libgl1-mesa-dri redis-server fonts-dejavu-core)
if [ "${LVSEG_SKIP_APT:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=()
  for p in "${system_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >.setup-stamps/apt.log 2>&1; then
      say "warning: apt-get could not install ${missing[*]} (see .setup-stamps/apt.log); continuing without them"
    fi
  fi
fi

# 2. npm dependencies, when node_modules is missing or older than package-lock.json.
lock_hash=$(sha1sum package-lock.json | cut -c1-40)
if [ ! -f node_modules/.lvseg-lock-hash ] || [ "$(cat node_modules/.lvseg-lock-hash)" != "$lock_hash" ]; then
  say "npm ci"
  # onnxruntime-node's install script downloads extra (GPU) binaries and fails offline; its CPU ones are in the package
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$lock_hash" > node_modules/.lvseg-lock-hash
fi

# 3. The native oneDNN addon, when its sources or the CPU changed; a failed build leaves the wasm
#    fallback, never a broken install.
if [ -f binding.gyp ] && [ "${LVSEG_SKIP_NATIVE:-0}" != 1 ]; then
  # The addon is compiled with -march=native: a different CPU (a copied checkout or container image)
  # gets a fresh build, so the CPU's flags are part of the hash.
  native_hash=$( { hash_of native binding.gyp scripts/native-isa.sh; grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true; } | sha1sum | cut -c1-40)
  if [ ! -f build/.lvseg-native-hash ] || [ "$(cat build/.lvseg-native-hash)" != "$native_hash" ]; then
    say "building the native oneDNN addon"
    if npx --no-install node-gyp rebuild >.setup-stamps/native-build.log 2>&1; then
      echo "$native_hash" > build/.lvseg-native-hash
    else
      say "warning: the native oneDNN addon did not build (see .setup-stamps/native-build.log);"
      say "         lvseg will train on the wasm backend. For the fast one: apt-get install libdnnl-dev g++ make"
      # The hash is recorded anyway: a failed build is not retried until its sources or the CPU change.
      mkdir -p build && echo "$native_hash" > build/.lvseg-native-hash
    fi
  fi
fi

# 4. The TypeScript build and the web pages' bundles (dist/web), when sources changed.
src_hash=$(hash_of src bench proto tsconfig.json package-lock.json scripts/build-web.mjs)
if [ ! -f dist/.lvseg-src-hash ] || [ "$(cat dist/.lvseg-src-hash)" != "$src_hash" ]; then
  say "building TypeScript"
  rm -rf dist
  npx --no-install tsc -p tsconfig.json
  node scripts/build-web.mjs
  echo "$src_hash" > dist/.lvseg-src-hash
fi
