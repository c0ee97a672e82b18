/**
 * Every `@example` in the API doc comments, and every TypeScript block of the README and the guides,
 * runs as written (with cnfkit's exports in scope), so the documentation cannot rot.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it, vi } from 'vitest';
import * as tfl from '@tensorflow/tfjs-layers';
import * as cnfkit from '../src/index.js';

const root = new URL('..', import.meta.url).pathname;

function filesUnder(dir: string, ext: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path, ext) : path.endsWith(ext) ? [path] : [];
  });
}

/** ```ts blocks after `@example` in doc comments, with the comment's leading ` * ` removed. */
function docExamples(file: string): { name: string; code: string }[] {
  const text = readFileSync(file, 'utf8');
  const found: { name: string; code: string }[] = [];
  const pattern = /@example\s*\n((?:\s*\*.*\n)*?)\s*\*\s*```(?:ts|typescript)?\s*\n((?:\s*\*.*\n)*?)\s*\*\s*```/g;
  for (const match of text.matchAll(pattern)) {
    const code = match[2].split('\n').map((line) => line.replace(/^\s*\* ?/, '')).join('\n');
    const line = text.slice(0, match.index).split('\n').length;
    found.push({ name: `${file.slice(root.length)}:${line}`, code });
  }
  return found;
}

/** ```ts blocks of a Markdown file. */
function markdownExamples(file: string): { name: string; code: string }[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => ({
    name: `${file.slice(root.length)}:${text.slice(0, m.index).split('\n').length}`,
    code: m[1],
  }));
}

const examples = [
  ...filesUnder(join(root, 'src'), '.ts').flatMap(docExamples),
  ...[join(root, 'README.md'), ...filesUnder(join(root, 'docs/guides'), '.md')].flatMap(markdownExamples),
];

/**
 * Runs TypeScript with every cnfkit export in scope, and tfjs-layers as `tfl`; imports of cnfkit,
 * tfjs and tfjs-layers are dropped.
 */
async function run(code: string): Promise<void> {
  const withoutImports = code.replace(/^import .* from '(cnfkit|@tensorflow\/tfjs|@tensorflow\/tfjs-layers)';\s*$/gm, '');
  const js = ts.transpileModule(withoutImports, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText;
  const scope: Record<string, unknown> = { ...cnfkit, tfl };
  const names = Object.keys(scope);
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...args: string[]) => (...values: unknown[]) => Promise<void>;
  await new AsyncFunction(...names, js)(...names.map((n) => scope[n]));
}

describe('documentation examples run as written', () => {
  it('finds the examples (doc comments and Markdown)', () => {
    expect(examples.length).toBeGreaterThanOrEqual(4);
  });

  it.each(examples.map((e) => [e.name, e] as const))('%s', async (_name, example) => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await run(example.code);
    } finally {
      log.mockRestore();
    }
  });
});

describe('documentation coverage', () => {
  it('gives every exported function, class and constant a runnable @example', () => {
    const program = ts.createProgram([join(root, 'src/index.ts')], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022 });
    const checker = program.getTypeChecker();
    const module = checker.getSymbolAtLocation(program.getSourceFile(join(root, 'src/index.ts'))!)!;
    const missing = checker
      .getExportsOfModule(module)
      .filter((s) => s.name !== 'tf') // the tfjs namespace itself
      .map((s) => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s))
      .filter((s) => s.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Class | ts.SymbolFlags.Variable))
      .filter((s) => !s.getJsDocTags(checker).some((t) => t.name === 'example'))
      .map((s) => s.name);
    expect(missing).toEqual([]);
  });
});
