/**
 * Checking a folder before anything is written to it, and creating it safely. Node only (loaded with a
 * dynamic import by the model files and the CLI).
 *
 * Node's `mkdir(…, { recursive: true })` busy-hangs inside Linux's proc filesystem and reports a file in
 * the way as a bare ENOTDIR; here every problem becomes one {@link ModelFileError} that names the path
 * and what is wrong with it, before a byte is written.
 */
import type { Stats } from 'node:fs';
import { ModelFileError, InputError } from '../errors.js';

/** Pseudo filesystems (statfs magic numbers) whose "files" are kernel interfaces, not storage. */
const PSEUDO_FILESYSTEMS: Record<number, string> = {
  0x9fa0: 'proc',
  0x62656572: 'sysfs',
  0x63677270: 'cgroup2',
  0x27e0eb: 'cgroup',
  0x64626720: 'debugfs',
  0x74726163: 'tracefs',
  0x73636673: 'securityfs',
  0x1cd1: 'devpts',
};

/** What is at a path that is to become a folder. */
export interface FolderTarget {
  /** The absolute path, symbolic links resolved where they exist. */
  readonly path: string;
  /** Whether a folder exists there already. */
  readonly exists: boolean;
  /** Its entries (empty when it does not exist). */
  readonly entries: readonly string[];
  /** Its permission bits, when it exists. */
  readonly mode?: number;
}

/**
 * Checks that `dir` can be a folder to write into: a non-empty path, not inside a pseudo filesystem,
 * no file where it or one of its parents should be a folder, and the nearest existing folder writable.
 * Creates nothing.
 * @param fn - the public function, for messages (e.g. `CNF.save`)
 * @param argument - the argument that named the folder (e.g. `dir`)
 * @throws InputError when `dir` is not a non-empty string; ModelFileError for the rest
 */
export async function inspectFolder(fn: string, argument: string, dir: unknown): Promise<FolderTarget> {
  if (typeof dir !== 'string' || dir.trim() === '' || dir.includes('\0')) {
    throw new InputError(fn, argument, `must be a folder path (a non-empty string), but got ${typeof dir === 'string' ? JSON.stringify(dir) : typeof dir}`);
  }
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  let target = path.resolve(dir);
  // Walk up to the nearest thing that exists; everything below it is to be created.
  let existing = target;
  let stat: Stats | undefined;
  for (;;) {
    stat = await fs.stat(existing).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      if (e.code === 'ENOTDIR') return undefined; // a file further up; found on the way
      throw fileError(fn, existing, e, 'cannot be read');
    });
    if (stat || path.dirname(existing) === existing) break;
    existing = path.dirname(existing);
  }
  if (!stat) throw new ModelFileError(fn, target, 'no part of this path exists');
  if (!stat.isDirectory()) {
    const problem = existing === target ? 'is a file, not a folder' : `cannot be created: ${existing} is a file, not a folder`;
    throw new ModelFileError(fn, target, problem);
  }
  const exists = existing === target;
  const real = await fs.realpath(existing);
  if (exists) target = real; // a link to a folder: write into the folder, keep the link
  const pseudo = await pseudoFilesystem(real);
  if (pseudo) throw new ModelFileError(fn, target, `is inside the ${pseudo} filesystem (kernel interfaces, not storage); choose a folder on a disk`);
  try {
    await fs.access(real, (await import('node:fs')).constants.W_OK);
  } catch (e) {
    throw new ModelFileError(fn, target, `cannot be written: ${real} is ${(e as NodeJS.ErrnoException).code === 'EROFS' ? 'on a read-only filesystem' : 'not writable by this user'}`);
  }
  if (!exists) return { path: target, exists: false, entries: [] };
  return { path: target, exists: true, entries: (await fs.readdir(target)).sort(), mode: stat.mode & 0o7777 };
}

/**
 * Creates the folder `dir` and any missing parents, one level at a time (never Node's recursive mkdir,
 * which hangs in the proc filesystem), with the permissions the user's umask gives.
 * @returns the folder as it was before (see {@link inspectFolder})
 */
export async function ensureFolder(fn: string, argument: string, dir: unknown): Promise<FolderTarget> {
  const target = await inspectFolder(fn, argument, dir);
  if (!target.exists) await createParents(fn, target.path, true);
  return target;
}

/** Creates the missing parents of `target` (and `target` itself when `self`). */
export async function createParents(fn: string, target: string, self = false): Promise<void> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const missing: string[] = [];
  for (let p = self ? target : path.dirname(target); ; p = path.dirname(p)) {
    const exists = await fs.stat(p).then(() => true, () => false);
    if (exists || path.dirname(p) === p) break;
    missing.unshift(p);
  }
  for (const p of missing) {
    await fs.mkdir(p).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw fileError(fn, target, e);
    });
  }
}

/** A Node file-system error as a ModelFileError about `target` (no temporary names, no stack). */
export function fileError(fn: string, target: string, e: unknown, what = 'cannot be written'): ModelFileError {
  const err = e as NodeJS.ErrnoException;
  const reasons: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'the filesystem is read-only',
    ENOSPC: 'no space left on the device',
    EDQUOT: 'disk quota exceeded',
    ENOTDIR: 'a part of the path is a file, not a folder',
    EISDIR: 'a folder is where a file should be',
    ENAMETOOLONG: 'the path is too long',
    ELOOP: 'too many symbolic links',
    EIO: 'input/output error',
  };
  return new ModelFileError(fn, target, `${what}: ${reasons[err?.code ?? ''] ?? err?.message ?? String(e)}${err?.code ? ` (${err.code})` : ''}`);
}

async function pseudoFilesystem(path: string): Promise<string | undefined> {
  const fs = await import('node:fs/promises');
  if (typeof fs.statfs !== 'function') return undefined;
  const { type } = await fs.statfs(path).catch(() => ({ type: 0 }));
  return PSEUDO_FILESYSTEMS[Number(type)];
}
