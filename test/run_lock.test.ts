// One `cnfkit train` per run folder (src/cli/run_lock.ts): a live run's lock is refused on its host,
// a dead process's taken over at once, another host's once stale; a run whose lock was taken stops
// before writing; nothing of the lock stays behind.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { LOCK_FILE, acquireRunLock } from '../src/cli/run_lock.js';
import { main } from '../src/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'cnfkit-lock-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const lockOf = (pid: number, host = hostname()) => JSON.stringify({ token: 'someone-else', pid, host, started: '2026-01-01T00:00:00.000Z' });
const quiet = () => undefined;

describe('the run folder lock', () => {
  it('is taken in a new folder, refused to a second taker while its process lives, and leaves nothing behind', async () => {
    const dir = join(tmp, 'fresh');
    const lock = await acquireRunLock(dir, quiet);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    await expect(acquireRunLock(dir, quiet)).rejects.toThrow(new RegExp(`is being trained by another cnfkit train \\(pid ${process.pid} on .*\\); wait for it, or stop it`));
    lock.check();
    lock.release();
    expect(existsSync(dir)).toBe(false); // made for the lock alone
  });

  it("takes over a dead process's lock at once, and another host's once it goes stale", async () => {
    const dir = join(tmp, 'stale');
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    mkdirSync(dir);
    writeFileSync(join(dir, LOCK_FILE), lockOf(gone));
    const said: string[] = [];
    const first = await acquireRunLock(dir, (line) => said.push(line));
    expect(said.join('\n')).toMatch(new RegExp(`taking over .*train.lock: its run \\(pid ${gone} on .*\\) is gone`));
    first.release();
    expect(existsSync(dir)).toBe(true); // not made for the lock

    writeFileSync(join(dir, LOCK_FILE), lockOf(1, 'another-machine'));
    said.length = 0;
    const started = Date.now();
    const second = await acquireRunLock(dir, (line) => said.push(line), 400, 50);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(said[0]).toMatch(/waiting for .*train.lock \(pid 1 on another-machine, .*\): a run on another machine holds it, and it goes stale after 0 s/);
    expect(said[1]).toMatch(/taking over .* \(not refreshed for \d+ s\)/);
    // The run that lost its lock stops at its next check instead of writing beside the new holder.
    writeFileSync(join(dir, LOCK_FILE), lockOf(1, 'another-machine'));
    expect(() => second.check()).toThrow(/train.lock was taken over by another cnfkit train \(pid 1 on another-machine\) while this one ran: stopping without writing more/);
    second.release();
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).host).toBe('another-machine'); // not ours: kept
  });

  it("takes over a lock naming this very pid that this process does not hold (a restarted container's former pid 1)", async () => {
    const dir = join(tmp, 'restarted');
    mkdirSync(dir);
    writeFileSync(join(dir, LOCK_FILE), lockOf(process.pid)); // alive by kill(pid, 0): it is us
    const said: string[] = [];
    const lock = await acquireRunLock(dir, (line) => said.push(line));
    expect(said.join('\n')).toMatch(new RegExp(`taking over .*train.lock: its run \\(pid ${process.pid} on .*\\) is gone`));
    // The lock this process does hold stays refused to a second taker in the same process.
    await expect(acquireRunLock(dir, quiet)).rejects.toThrow(/is being trained by another cnfkit train/);
    lock.release();
  });

  it("refuses another host's lock that keeps being refreshed", async () => {
    const dir = join(tmp, 'busy');
    mkdirSync(dir);
    writeFileSync(join(dir, LOCK_FILE), lockOf(1, 'another-machine'));
    const touch = setInterval(() => utimesSync(join(dir, LOCK_FILE), new Date(), new Date()), 30);
    try {
      await expect(acquireRunLock(dir, quiet, 200, 40)).rejects.toThrow(/is being trained by another cnfkit train \(pid 1 on another-machine, .*\), which still refreshes .*train.lock; stop it first/);
    } finally {
      clearInterval(touch);
    }
  });

  it('makes cnfkit train refuse a folder a live run holds, and train leaves no lock behind', async () => {
    const dir = join(tmp, 'run');
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    try {
        mkdirSync(dir);
      writeFileSync(join(dir, LOCK_FILE), lockOf(sleeper.pid!));
      const err: string[] = [];
      const spy = vi.spyOn(console, 'error').mockImplementation((m: string) => void err.push(m));
      const code = await main(['train', '--data', '8gaussians', '--out', dir, '--iterations', '2', '--hidden', '4'], () => undefined).finally(() => spy.mockRestore());
      expect(code).toBe(2);
      expect(err.join('\n')).toMatch(new RegExp(`is being trained by another cnfkit train \\(pid ${sleeper.pid} `));
      expect(existsSync(join(dir, 'run.json'))).toBe(false);
    } finally {
      sleeper.kill();
    }
    await new Promise((resolve) => sleeper.on('exit', resolve));
    const code = await main(['train', '--data', '8gaussians', '--out', dir, '--iterations', '2', '--hidden', '4', '--eval-every', '2'], () => undefined);
    expect(code).toBe(0);
    expect(existsSync(join(dir, 'run.json'))).toBe(true);
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });
});
