#!/usr/bin/env bash
# One unattended GPU check for a lent machine (an NVIDIA GPU with CUDA, PyTorch and Python; no
# Node.js, no package registry): unpacks gpu-runtime/ (made here by scripts/pack_gpu_runtime.sh and
# carried along), finds or sets up the Vulkan loader and NVIDIA's Vulkan driver file, runs
# bench/gpu.ts (cnfkit on WebGPU, Dawn on Vulkan, beside single-core wasm) and then
# bench/reference/gpu_torch.py (PyTorch on CUDA, the same cases) and prints what ran where.
#   bash bench/gpu.sh            # ~8 minutes; GPU_MAX_BATCH=1e4 GPU_CASE_SECONDS=5 for a quick look
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
runtime="$root/gpu-runtime"
max_batch="${GPU_MAX_BATCH:-1e6}"
case_seconds="${GPU_CASE_SECONDS:-15}"
say() { echo "gpu.sh: $*"; }
[ -d "$runtime" ] || { say "no gpu-runtime/ here: run scripts/pack_gpu_runtime.sh and carry gpu-runtime"; exit 2; }
say "runtime built from $(cat "$runtime/BUILT_FROM" 2>/dev/null)"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/gpu.sh: GPU /'

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$runtime/." "$work/"
python3 - "$work" <<'PY'
import lzma, os, shutil, sys
for folder, _, files in os.walk(sys.argv[1]):
    for name in files:
        if name.endswith('.xz'):
            path = os.path.join(folder, name)
            with lzma.open(path) as src, open(path[:-3], 'wb') as dst:
                shutil.copyfileobj(src, dst)
            os.remove(path)
PY
chmod +x "$work/node"
say "node $("$work/node" --version)"

# The Vulkan loader: the system's, else the one brought along.
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1'; then
  export LD_LIBRARY_PATH="$work${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  say "no system Vulkan loader; using the one brought along (Debian's libvulkan1)"
fi
# The driver's libraries where the container mounts them outside the linker's paths.
for dir in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
  [ -d "$dir" ] && export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$dir"
done
# NVIDIA's Vulkan driver file: installed with the driver, or written here when only the library is.
icd=""
for dir in /usr/local/nvidia/share/vulkan/icd.d /usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/share/vulkan/icd.d /usr/share/glvnd /etc/glvnd; do
  [ -f "$dir/nvidia_icd.json" ] && icd="$dir/nvidia_icd.json" && break
done
if [ -z "$icd" ]; then
  lib="$(ldconfig -p 2>/dev/null | awk '/libGLX_nvidia.so.0/ {print $NF; exit}')"
  [ -z "$lib" ] && lib="$(ls /usr/local/nvidia/lib64/libGLX_nvidia.so.0 2>/dev/null)"
  if [ -n "$lib" ]; then
    icd="$work/nvidia_icd.json"
    printf '{"file_format_version": "1.0.0", "ICD": {"library_path": "%s", "api_version": "1.3"}}\n' "$lib" > "$icd"
    say "no nvidia_icd.json installed; wrote one for $lib"
  else
    say "no NVIDIA Vulkan driver found (nvidia_icd.json, libGLX_nvidia.so.0): WebGPU will find no GPU adapter"
  fi
fi
[ -n "$icd" ] && export VK_ICD_FILENAMES="$icd" VK_DRIVER_FILES="$icd" && say "Vulkan driver file $icd"

say "== cnfkit: bench/gpu.ts (webgpu on Dawn/Vulkan beside single-core wasm), batches to $max_batch"
(cd "$work" && timeout 330 ./node gpu-bench.mjs --backend webgpu --max-batch "$max_batch" --case-seconds "$case_seconds" 2>&1 | grep -v 'artificially reduced') || say "bench/gpu.ts ended with status $?"

say "== PyTorch: bench/reference/gpu_torch.py (CUDA), the same cases"
if python3 -c 'import torch' 2>/dev/null; then
  # glibc's allocator keeping freed memory, as every PyTorch reference runs (bench/torch_env.ts).
  MALLOC_TRIM_THRESHOLD_=1073741824 MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TOP_PAD_=134217728 \
    timeout 180 python3 "$root/bench/reference/gpu_torch.py" --max-batch "$max_batch" --case-seconds "$case_seconds" || say "gpu_torch.py ended with status $?"
else
  say "no PyTorch here"
fi
