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
