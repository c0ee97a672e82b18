/**
 * The layers of ARCHITECTURE.md: `ode/` stands alone; nn/ and native/ (the compute paths) know
 * nothing of flows/ or train/; train/ works on an interface the flow implements and never imports
 * flows/; no import cycle anywhere; and the layers that run in a browser have no static `node:`
 * imports (file I/O lives at the edges: io/, viz/, cli/).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

const src = new URL('../src', import.meta.url).pathname;
const filesIn = (dir: string) => readdirSync(join(src, dir)).filter((f) => f.endsWith('.ts')).map((f) => join(dir, f));
const allFiles = (dir = ''): string[] =>
  readdirSync(join(src, dir)).flatMap((f) => (statSync(join(src, dir, f)).isDirectory() ? allFiles(join(dir, f)) : f.endsWith('.ts') ? [join(dir, f)] : []));
/** Static imports: `import … from '…'` and `export … from '…'`. */
const imports = (file: string) =>
  [...readFileSync(join(src, file), 'utf8').matchAll(/^(?:import|export)[^;]*?from '([^']+)'/gms)].map((m) => ({ path: m[1] }));
const staticImports = (file: string) => imports(file).map((i) => i.path);
/** The source file a relative import names (`../nn/x.js` → `nn/x.ts`). */
const resolveImport = (from: string, path: string) => normalize(join(dirname(from), path)).replace(/\.js$/, '.ts');

describe('architecture', () => {
  it.each(['ode', 'nn', 'flows', 'data', 'train', 'native'])('src/%s has no static node: imports (it must run in a browser)', (dir) => {
    for (const file of filesIn(dir)) expect(staticImports(file).filter((i) => i.startsWith('node:')), file).toEqual([]);
  });

  it.each([
    ['ode', /^\.\.\/(nn|native|flows|data|train|viz|cli|io)\//],
    ['nn', /^\.\.\/(flows|train|viz|cli|io)\//],
    ['native', /^\.\.\/(flows|train|viz|cli|io)\//],
    ['train', /^\.\.\/(flows|viz|cli|io)\//],
  ] as const)('src/%s imports nothing from the layers above it (type imports included)', (dir, above) => {
    for (const file of filesIn(dir)) expect(staticImports(file).filter((i) => above.test(i)), file).toEqual([]);
  });

  it('has no import cycle among the sources, type imports included', () => {
    const files = allFiles();
    const edges = new Map(files.map((f) => [f, imports(f).filter((i) => i.path.startsWith('.')).map((i) => resolveImport(f, i.path)).filter((t) => files.includes(t))]));
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (f: string, trail: string[]) => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...trail.slice(trail.indexOf(f)), f].join(' → '));
        return;
      }
      state.set(f, 'open');
      for (const t of edges.get(f) ?? []) visit(t, [...trail, f]);
      state.set(f, 'done');
    };
    for (const f of files) visit(f, []);
    expect(edges.get('flows/cnf.ts'), 'the graph is read').toContain('train/fit.ts');
    expect(cycles).toEqual([]);
  });
});
