/**
 * The layers of DESIGN.md: `ode/` stands alone; `ode/`, `nn/`, `flows/`, `data/` and `train/` must run in
 * a browser (no static `node:` imports; file I/O lives at the edges: io/, viz/, cli/).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const src = new URL('../src', import.meta.url).pathname;
const filesIn = (dir: string) => readdirSync(join(src, dir)).filter((f) => f.endsWith('.ts')).map((f) => join(dir, f));
const staticImports = (file: string) => [...readFileSync(join(src, file), 'utf8').matchAll(/^import[^;]*?from '([^']+)'/gms)].map((m) => m[1]);

describe('architecture', () => {
  it.each(['ode', 'nn', 'flows', 'data', 'train', 'native'])('src/%s has no static node: imports (it must run in a browser)', (dir) => {
    for (const file of filesIn(dir)) expect(staticImports(file).filter((i) => i.startsWith('node:')), file).toEqual([]);
  });

  it('src/ode imports nothing from the layers above it', () => {
    for (const file of filesIn('ode')) {
      expect(staticImports(file).filter((i) => /^\.\.\/(nn|flows|data|train|viz|cli|io)\//.test(i)), file).toEqual([]);
    }
  });
});
