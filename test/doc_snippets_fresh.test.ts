/**
 * Every TypeScript block of the README and the guides runs as a user pastes it: in a fresh Node
 * process with nothing initialised (no test setup calling `ready()`), importing from 'cnfkit' itself.
 * Only the import path is rewritten (to this checkout's sources). test/doc_examples.test.ts runs the
 * same blocks in-process; this file proves they are complete programs.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
const tsx = join(root, 'node_modules/.bin/tsx');
const work = mkdtempSync(join(tmpdir(), 'cnfkit-snippets-'));
// The programs sit under this checkout's node_modules so that their other imports (tfjs-layers, as in
// a project that installed it) resolve as in a user's project; they run with the scratch folder as cwd.
mkdirSync(join(root, 'node_modules/.cache'), { recursive: true });
const programs = mkdtempSync(join(root, 'node_modules/.cache/cnfkit-snippets-'));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(programs, { recursive: true, force: true });
});

const markdown = [join(root, 'README.md'), ...readdirSync(join(root, 'docs/guides')).filter((f) => f.endsWith('.md')).map((f) => join(root, 'docs/guides', f))];
const snippets = markdown.flatMap((file) => {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => ({ name: `${file.slice(root.length)}:${text.slice(0, m.index).split('\n').length}`, code: m[1] }));
});

/** Runs TypeScript source as a fresh program (cwd: a scratch folder); resolves with its exit code and output. */
function runFresh(name: string, code: string, env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  const file = join(programs, `${name.replace(/[^\w]+/g, '_')}.mts`);
  writeFileSync(file, code.replace(/from 'cnfkit'/g, `from '${join(root, 'src/index.node.ts')}'`));
  return new Promise((resolve) => {
    execFile(tsx, [file], { cwd: work, env: { ...process.env, ...env }, timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, out: stdout, err: stderr });
    });
  });
}

describe.concurrent('README and guide snippets run in a fresh process, as pasted', () => {
  it('finds them', () => expect(snippets.length).toBeGreaterThanOrEqual(8));

  it.each(snippets.map((s) => [s.name, s] as const))('%s', async (name, snippet) => {
    expect(snippet.code, 'a snippet imports what it uses').toMatch(/^import .* from 'cnfkit';$/m);
    const r = await runFresh(name, snippet.code);
    expect(r.err).not.toMatch(/Error/);
    expect(r.code, r.err).toBe(0);
  });
});

describe.concurrent('use before any backend is initialised', () => {
  it('fails with one cnfkit line that says to await ready(), not tfjs internals or minified wasm glue', async () => {
    const r = await runFresh('no_ready', "import { CNF } from 'cnfkit';\nnew CNF({ dim: 2 });\n");
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/CnfkitError: cnfkit: no tfjs backend is initialised yet; call `await ready\(\)`/);
    expect(r.err).not.toMatch(/var Module|readyPromiseResolve|has not yet been initialized/);
  });

  it('does not affect a user who set a tfjs backend themselves', async () => {
    const code = "import { odeint, tf } from 'cnfkit';\nawait tf.setBackend('cpu');\nconsole.log(odeint((t, y) => tf.neg(y), tf.ones([1]), [0, 1]).dataSync()[1].toFixed(4));\n";
    const r = await runFresh('own_backend', code);
    expect(r.err).not.toMatch(/Error|await ready/); // tfjs's own note on the cpu backend may appear
    expect(r.out.trim()).toBe(Math.exp(-1).toFixed(4));
  });
});
