import { describe, expect, it, vi } from 'vitest';
import { BACKEND_CHOICES, backendInfo, ready, tf } from '../src/index.js';

describe('backend selection', () => {
  it('runs wasm by default, with SIMD, and reports why', async () => {
    const info = await ready({ backend: 'auto', verbose: false });
    expect(info.name).toBe('wasm');
    expect(info.simd).toBe(true);
    expect(backendInfo()).toEqual(info);
    expect(tf.getBackend()).toBe('wasm');
  });

  it('gives the pure-JS cpu backend when asked', async () => {
    const info = await ready({ backend: 'cpu' });
    expect(info).toMatchObject({ name: 'cpu', requested: 'cpu', source: 'option' });
    await ready({ backend: 'wasm' });
  });

  it('falls back to wasm, saying why, when an optional native backend is not installed', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const info = await ready({ backend: 'tensorflow' });
    expect(info.name).toBe('wasm');
    expect(info.reason).toMatch(/tensorflow unavailable \(@tensorflow\/tfjs-node is not installed; npm install @tensorflow\/tfjs-node@4.22.0/);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^cnfkit: tensorflow unavailable/));
    warn.mockRestore();
  });

  it('webgpu in Node: Dawn and tfjs\'s WebGPU backend are loaded on request; with no adapter it falls back to wasm naming the driver', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const info = await ready({ backend: 'webgpu' });
    const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator?.gpu;
    expect(gpu, 'the Node entry put Dawn at navigator.gpu').toBeDefined();
    if (await gpu!.requestAdapter()) {
      expect(info.name).toBe('webgpu'); // a Vulkan driver is installed (CI with lavapipe, a GPU machine)
    } else {
      expect(info.name).toBe('wasm');
      expect(info.reason).toMatch(/^webgpu unavailable \(no WebGPU adapter \(navigator.gpu.requestAdapter\(\) found none\): Dawn needs a Vulkan driver: .*libvulkan1.*\); fell back to wasm$/);
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/^cnfkit: webgpu unavailable/));
    }
    warn.mockRestore();
    await ready({ backend: 'wasm' });
    expect(tf.getBackend()).toBe('wasm');
  });

  it('reads CNFKIT_BACKEND when no option is given', async () => {
    process.env.CNFKIT_BACKEND = 'cpu';
    try {
      expect(await ready()).toMatchObject({ name: 'cpu', source: 'env CNFKIT_BACKEND' });
    } finally {
      delete process.env.CNFKIT_BACKEND;
    }
    expect((await ready()).name).toBe('wasm');
  });

  it('rejects an unknown backend name, listing the known ones', async () => {
    await expect(ready({ backend: 'cuda' as never })).rejects.toThrow(`ready: backend "cuda" (from option) is not one of ${BACKEND_CHOICES.join(', ')}`);
  });
});
