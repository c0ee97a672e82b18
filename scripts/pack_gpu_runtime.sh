#!/usr/bin/env bash
# Packs what bench/gpu.sh needs on a lent GPU machine that has no Node.js and no package registry
# (CUDA, PyTorch and Python only; at most 64 MiB brought along): into gpu-runtime/ (gitignored,
# ~31 MB), to be carried with the working tree (the device tool's `carry: ["gpu-runtime"]`).
#   node.xz            this machine's node binary, stripped (Linux x64, glibc)
#   gpu-bench.mjs.xz   bench/gpu.ts bundled with cnfkit and tfjs (one file; only Dawn left outside)
#   *.wasm             tfjs's wasm backend binaries (the wasm column), read from beside the bundle
#   node_modules/webgpu  the `webgpu` package's loader and only its linux-x64 dawn.node (xz)
#   libvulkan.so.1     Debian's Vulkan loader, for a machine without one
# Compressed with xz; bench/gpu.sh unpacks with Python's lzma, so the machine needs no xz either.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/gpu-runtime"
rm -rf "$out"
mkdir -p "$out/node_modules/webgpu/dist/linux-x64"
cd "$root"
strip -o "$out/node" "$(readlink -f "$(command -v node)")"
# The bundle is ESM for Node: give the CommonJS parts of tfjs the require/__dirname they expect
# (the wasm backend finds its .wasm files through __dirname, i.e. beside the bundle).
npx esbuild bench/gpu.ts --bundle --platform=node --format=esm --target=node20 --external:webgpu \
  --outfile="$out/gpu-bench.mjs" --log-level=warning \
  --banner:js="import { createRequire as __cnfkitRequire } from 'node:module'; import { fileURLToPath as __cnfkitPath } from 'node:url'; const require = __cnfkitRequire(import.meta.url); const __filename = __cnfkitPath(import.meta.url); const __dirname = __cnfkitPath(new URL('.', import.meta.url));"
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm "$out/"
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$out/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$out/node_modules/webgpu/dist/linux-x64/"
cp -L /usr/lib/x86_64-linux-gnu/libvulkan.so.1 "$out/libvulkan.so.1" 2>/dev/null || echo "pack_gpu_runtime: no libvulkan.so.1 here (apt-get install libvulkan1); the GPU machine must have its own"
xz -9 -T0 "$out/node" "$out/gpu-bench.mjs" "$out/node_modules/webgpu/dist/linux-x64/dawn.node"
echo "$(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes')" > "$out/BUILT_FROM"
du -sh "$out"
find "$out" -type f -printf '%8s  %P\n' | sort -k2
