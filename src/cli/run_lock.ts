/**
 * One `cnfkit train` per run folder. Two at once (a requeued job beside the one it replaces, a pod
 * started before the old one has finished its checkpoint, a command run twice) would interleave their
 * checkpoints, history and model. The first writes `<run>/train.lock` (created exclusively) and
 * refreshes its time while it runs; another on the same host refuses while the holder's process is
 * alive and takes over a dead one's lock at once; one on another host (where a process id says
 * nothing) waits until the lock has not been refreshed for {@link STALE_MS}, then takes it over. The
 * holder checks the lock is still its own before each checkpoint, so a run whose lock was taken (its
 * machine stalled past the stale time) stops without writing.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, rmdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CnfkitError } from '../errors.js';
import { UsageError } from './args.js';

/** The lock's file in a run folder. */
export const LOCK_FILE = 'train.lock';
/** A lock not refreshed for this long belongs to a run that is gone. */
export const STALE_MS = 120_000;
const REFRESH_MS = 15_000;
const POLL_MS = 5_000;

interface LockInfo {
  token: string;
  pid: number;
  host: string;
  started: string;
}

/** A held lock: {@link RunLock.check} before writing, {@link RunLock.release} when done. */
export interface RunLock {
  /** @throws CnfkitError when another run has taken the folder over */
  check(): void;
  release(): void;
}

/** The tokens of the locks this process holds now (a lock naming this pid and another token is a former process's). */
const heldHere = new Set<string>();

/**
 * Takes `dir`'s lock (creating the folder when it does not exist), waiting for a stale one of
 * another host's.
 * @param log - for the waiting and taking-over messages
 * @throws UsageError when a live run on this host holds it, or another host's stays fresh
 */
export async function acquireRunLock(dir: string, log: (line: string) => void, staleMs = STALE_MS, pollMs = POLL_MS): Promise<RunLock> {
  const created = !existsSync(dir);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, LOCK_FILE);
  const mine: LockInfo = { token: randomUUID(), pid: process.pid, host: hostname(), started: new Date().toISOString() };
  const deadline = Date.now() + staleMs + 2 * pollMs;
  let waiting = false;
  for (;;) {
    try {
      writeFileSync(path, JSON.stringify(mine) + '\n', { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const held = readLock(path);
    if (!held) continue; // removed meanwhile: try again
    const age = Date.now() - held.refreshed;
    const sameHost = held.info?.host === mine.host;
    const who = held.info ? `pid ${held.info.pid} on ${held.info.host}, started ${held.info.started}` : 'an unreadable lock';
    // This pid, but not a lock this process holds: a former process of a restarted container, where
    // pids repeat (pid 1 above all); kill(pid, 0) would call it alive.
    const formerSelf = sameHost && held.info!.pid === process.pid && !heldHere.has(held.info!.token);
    if ((sameHost && (formerSelf || !alive(held.info!.pid))) || age > staleMs) {
      log(`taking over ${path}: its run (${who}) is gone${sameHost ? '' : ` (not refreshed for ${Math.round(age / 1000)} s)`}`);
      rmSync(path, { force: true });
      continue;
    }
    if (sameHost) throw new UsageError(`--out ${dir} is being trained by another cnfkit train (${who}); wait for it, or stop it (Ctrl-C writes a checkpoint) and --resume`);
    if (Date.now() > deadline) throw new UsageError(`--out ${dir} is being trained by another cnfkit train (${who}), which still refreshes ${path}; stop it first`);
    if (!waiting) log(`waiting for ${path} (${who}, refreshed ${Math.round(age / 1000)} s ago): a run on another machine holds it, and it goes stale after ${Math.round(staleMs / 1000)} s without a refresh`);
    waiting = true;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  heldHere.add(mine.token);
  const refresh = setInterval(() => {
    try {
      const now = new Date();
      if (isMine(path, mine.token)) utimesSync(path, now, now);
    } catch {
      // A refresh that fails is retried at the next tick; check() says when the lock is gone.
    }
  }, Math.min(REFRESH_MS, staleMs / 4));
  refresh.unref();
  return {
    check() {
      if (!isMine(path, mine.token)) {
        const now = readLock(path)?.info;
        throw new CnfkitError(`${path} was taken over by another cnfkit train (${now ? `pid ${now.pid} on ${now.host}` : 'it is gone'}) while this one ran: stopping without writing more`);
      }
    },
    release() {
      clearInterval(refresh);
      heldHere.delete(mine.token);
      if (isMine(path, mine.token)) rmSync(path, { force: true });
      // A folder made for the lock alone goes with it (a train that failed its checks).
      if (created && existsSync(dir) && readdirSync(dir).length === 0) rmdirSync(dir);
    },
  };
}

function readLock(path: string): { info?: LockInfo; refreshed: number } | undefined {
  try {
    const refreshed = statSync(path).mtimeMs;
    let info: LockInfo | undefined;
    try {
      const parsed = JSON.parse(readFileSync(path, 'utf8'));
      if (typeof parsed?.token === 'string' && Number.isInteger(parsed.pid) && typeof parsed.host === 'string') info = parsed;
    } catch {
      // Being written, or not ours: judged by its age alone.
    }
    return { info, refreshed };
  } catch {
    return undefined;
  }
}

function isMine(path: string, token: string): boolean {
  return readLock(path)?.info?.token === token;
}

/** Whether a process of this host is alive (EPERM: alive, someone else's). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
