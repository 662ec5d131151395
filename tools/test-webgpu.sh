#!/usr/bin/env bash
# `npm run test:webgpu`: the golden tests and the engine's forward/gradient tests on the WebGPU
# backend, forced (a test fails rather than fall back to wasm).
#
# Without a GPU (CI, this project's machines) they run over Mesa's lavapipe, a software Vulkan that
# tools/lavapipe.sh fetches into .cache/ — slow, for correctness only. UNLEARN_LENS_WEBGPU=system
# uses the machine's own Vulkan driver instead (a real GPU).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${UNLEARN_LENS_WEBGPU:-lavapipe}" = lavapipe ]; then
  eval "$(tools/lavapipe.sh)"
fi
export UNLEARN_LENS_TEST_BACKEND=webgpu
start=$(date +%s)
node --import tsx --test --test-reporter=spec \
  test/engine/webgpu.test.ts test/engine/golden.test.ts test/engine/forward.test.ts "$@"
echo "test:webgpu: $(($(date +%s) - start)) s on ${UNLEARN_LENS_WEBGPU:-lavapipe}" >&2
