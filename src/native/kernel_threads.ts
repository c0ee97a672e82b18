/**
 * Threads for cnfkit's wasm kernels: workers that each hold an instance of the kernels on the same
 * shared memory as the caller's, and replay a recorded program of kernel calls (one per worker,
 * e.g. the same layer passes over its own rows) when told to. Nothing is sent per call: the caller
 * bumps a generation counter and wakes them with Atomics, runs its own share, and waits for them.
 *
 * Workers are Node worker threads or Web Workers, made from the source below (no file to serve).
 * Synchronous waiting needs Atomics.wait, which a browser's window thread may not use: there cnfkit
 * keeps to one thread (run cnfkit in a Web Worker, as the playground does, to use more).
 */
import { KernelError } from '../errors.js';
import type { KernelExports } from './kernel_exports.js';

/**
 * One recorded kernel call: its name, its arguments (NaN: the pool's `time` at run time, for the
 * scalar time a pass takes), and where its return value goes (or -1).
 */
export type KernelCall = [name: keyof KernelExports, args: number[], resultSlot: number];

// Control words (Int32): the command generation, the command, its argument, workers done. Beside
// them one claim word per worker: who runs its share of this run (0: nobody yet, 1: the worker,
// 2: the caller).
const GENERATION = 0;
const COMMAND = 1;
const ARGUMENT = 2;
const DONE = 3;
const RUN = 1;
const YIELD = 2;
const STOP = 3;
const RESULT_SLOTS = 64;
/**
 * How long a thread spins on a control word before it sleeps on it. Waking a sleeping worker took
 * 30 µs to 2 ms on the development VM, against ~165 µs for a whole evaluation at batch 100 on one
 * thread; within a training run the next evaluation comes within a fraction of a millisecond, so a
 * worker that spins this long is awake for it, and an idle pool sleeps after it (OpenMP runtimes
 * spin likewise before blocking).
 */
const SPIN_MS = 20;
/** A worker that does not answer within this time is taken for dead (a clear error, never a hang). */
const TIMEOUT_MS = 60_000;

/**
 * The worker: instances by workspace id, programs by id; between messages it blocks on the
 * generation word and runs what the command says. YIELD returns to the event loop for a message.
 */
const WORKER_SOURCE = `
const port = typeof require === 'function' ? require('node:worker_threads').parentPort : self;
const on = (f) => (typeof require === 'function' ? port.on('message', f) : (port.onmessage = (e) => f(e.data)));
let ctrl, claims, results, index, spinMs, seen = 0, time;
const instances = new Map(), programs = new Map();
function serve() {
  for (;;) {
    // Spin first (see SPIN_MS), checking the clock every 256 loads.
    const until = performance.now() + spinMs;
    for (let i = 1; Atomics.load(ctrl, ${GENERATION}) === seen; i++) if ((i & 255) === 0 && performance.now() > until) break;
    Atomics.wait(ctrl, ${GENERATION}, seen);
    seen = Atomics.load(ctrl, ${GENERATION});
    const command = Atomics.load(ctrl, ${COMMAND});
    if (command === ${RUN}) {
      // Only a shard this worker claims first is its to run: a caller that finished its own share
      // first (this worker was descheduled) has run it already.
      if (Atomics.compareExchange(claims, index, 0, 1) !== 0) continue;
      const program = programs.get(Atomics.load(ctrl, ${ARGUMENT}));
      if (program) {
        for (const [f, args, slot, timeAt] of program) {
          for (const i of timeAt) args[i] = time[0];
          const r = f(...args);
          if (slot >= 0) results[slot] = r;
        }
      }
      Atomics.add(ctrl, ${DONE}, 1);
      Atomics.notify(ctrl, ${DONE});
    } else if (command === ${YIELD}) {
      return;
    } else if (command === ${STOP}) {
      Atomics.add(ctrl, ${DONE}, 1);
      Atomics.notify(ctrl, ${DONE});
      if (typeof close === 'function') close(); else process.exit(0);
      return;
    }
  }
}
on((m) => {
  if (m.type === 'start') {
    ctrl = new Int32Array(m.control); claims = new Int32Array(m.claims); results = new Float64Array(m.results); time = new Float64Array(m.time); index = m.index; spinMs = m.spinMs;
    seen = Atomics.load(ctrl, ${GENERATION});
  } else if (m.type === 'attach') {
    instances.set(m.id, new WebAssembly.Instance(m.module, { env: { memory: m.memory } }).exports);
  } else if (m.type === 'detach') {
    instances.delete(m.id);
    for (const [id, p] of programs) if (p.workspace === m.id) programs.delete(id);
  } else if (m.type === 'program') {
    const k = instances.get(m.workspace);
    const program = (m.calls ?? []).map(([name, args, slot]) => [k[name], args, slot, args.flatMap((a, i) => (Number.isNaN(a) ? [i] : []))]);
    program.workspace = m.workspace;
    programs.set(m.id, program);
  } else if (m.type === 'forget') {
    programs.delete(m.id);
  }
  Atomics.add(ctrl, ${DONE}, 1);
  Atomics.notify(ctrl, ${DONE});
  serve();
});
`;

export interface WorkerLike {
  postMessage(message: unknown): void;
  terminate(): unknown;
}

/** A pool of kernel threads: `count − 1` workers plus the caller's thread. */
export class KernelThreads {
  private readonly control = new Int32Array(new SharedArrayBuffer(16));
  private readonly claims: Int32Array;
  /** How long its threads spin before they sleep (see SPIN_MS; none when they outnumber the cores). */
  private readonly spinMs: number;
  /** Every program's calls, per worker, kept here too: the caller replays those a late worker has not claimed. */
  private readonly programs = new Map<number, { workspace: number; calls: KernelCall[][] }>();
  /** Each worker's return values: worker w's slots start at (w − 1) · RESULT_SLOTS. */
  readonly results: Float64Array;
  /** The return values one worker's program may keep (a pass records one per layer at most). */
  static readonly resultSlots = RESULT_SLOTS;
  /** The time that recorded NaN arguments take in the next run. */
  readonly time = new Float64Array(new SharedArrayBuffer(8));
  private nextId = 1;
  private stopped = false;

  private constructor(
    readonly count: number,
    private readonly workers: WorkerLike[],
  ) {
    this.results = new Float64Array(new SharedArrayBuffer(8 * RESULT_SLOTS * Math.max(1, workers.length)));
    this.claims = new Int32Array(new SharedArrayBuffer(4 * Math.max(1, workers.length)));
    // Spinning threads beyond the cores would take the cores from the threads with work.
    this.spinMs = count <= availableCores() ? SPIN_MS : 0;
  }

  /** Starts `count − 1` workers and waits until each is listening. */
  static async start(count: number): Promise<KernelThreads> {
    const workers: WorkerLike[] = [];
    for (let i = 1; i < count; i++) workers.push(await spawnWorker());
    const pool = new KernelThreads(count, workers);
    workers.forEach((w, i) => w.postMessage({ type: 'start', control: pool.control.buffer, claims: pool.claims.buffer, results: pool.results.buffer, time: pool.time.buffer, index: i, spinMs: pool.spinMs }));
    await pool.waitDoneAsync(workers.length);
    return pool;
  }

  /** The first result slot of worker `w` (1-based: worker 0 is the caller). */
  static slot(worker: number, k = 0): number {
    return (worker - 1) * RESULT_SLOTS + k;
  }

  /** Instantiates the kernels on `memory` in every worker; returns the workspace's id. */
  attach(module: WebAssembly.Module, memory: WebAssembly.Memory): number {
    const id = this.nextId++;
    this.message({ type: 'attach', id, module, memory });
    return id;
  }

  /** Forgets a workspace and its programs in every worker. */
  detach(workspace: number): void {
    for (const [id, p] of this.programs) if (p.workspace === workspace) this.programs.delete(id);
    if (!this.stopped) this.message({ type: 'detach', id: workspace });
  }

  /** Gives worker w (1 … count − 1) the program `calls[w − 1]`; returns the program's id. */
  program(workspace: number, calls: KernelCall[][]): number {
    const id = this.nextId++;
    this.message({ type: 'program', id, workspace, calls }, calls);
    this.programs.set(id, { workspace, calls });
    return id;
  }

  /** Drops a program in every worker. */
  forget(program: number): void {
    this.programs.delete(program);
    if (!this.stopped) this.message({ type: 'forget', id: program });
  }

  /** How many times programs ran split (tests check that the threaded path ran). */
  runs = 0;
  /** How many of their shares the workers ran themselves (the rest, late, ran on the caller's thread). */
  sharesOnWorkers = 0;

  /**
   * Runs program `id` on every worker while `own` runs here; returns when all are done. A worker's
   * share that it has not started when `own` ends (it was descheduled: a wake-up then costs a
   * millisecond or more on a busy or virtual machine) runs here instead, on `local`, the caller's
   * instance of the same workspace.
   */
  run(id: number, own: () => void, local: KernelExports): void {
    this.runs++;
    // The command first and the claims last: a late worker of the previous run can claim a share
    // only once its claim word is cleared, and then reads this run's program.
    Atomics.store(this.control, COMMAND, RUN);
    Atomics.store(this.control, ARGUMENT, id);
    Atomics.store(this.control, DONE, 0);
    for (let w = 0; w < this.workers.length; w++) Atomics.store(this.claims, w, 0);
    Atomics.add(this.control, GENERATION, 1);
    Atomics.notify(this.control, GENERATION);
    try {
      own();
      const calls = this.programs.get(id)!.calls;
      for (let w = 0; w < this.workers.length; w++) if (Atomics.compareExchange(this.claims, w, 0, 2) === 0) this.replay(calls[w] ?? [], local);
    } finally {
      // After an error too: the shares nobody claimed are the caller's, and only the workers' are awaited.
      let byWorkers = 0;
      for (let w = 0; w < this.workers.length; w++) if (Atomics.compareExchange(this.claims, w, 0, 2) === 1) byWorkers++;
      this.sharesOnWorkers += byWorkers;
      this.waitDone(byWorkers);
    }
  }

  /** Runs a worker's calls here (NaN arguments take the pool's time, as in the workers). */
  private replay(calls: KernelCall[], k: KernelExports): void {
    const time = this.time[0];
    for (const [name, args, slot] of calls) {
      const r = (k[name] as (...a: number[]) => number)(...args.map((a) => (Number.isNaN(a) ? time : a)));
      if (slot >= 0) this.results[slot] = r;
    }
  }

  /** Stops the workers. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const w of this.workers) w.terminate();
  }

  /** Sends a message to every worker (per-worker payloads from `each`), makes them read it, waits. */
  private message(message: Record<string, unknown>, each?: unknown[][]): void {
    if (this.stopped) throw new KernelError('the kernel threads were stopped');
    Atomics.store(this.control, DONE, 0);
    this.workers.forEach((w, i) => w.postMessage(each ? { ...message, calls: each[i] } : message));
    Atomics.store(this.control, COMMAND, YIELD);
    Atomics.add(this.control, GENERATION, 1);
    Atomics.notify(this.control, GENERATION);
    this.waitDone(this.workers.length);
  }

  private waitDone(expected: number): void {
    spinWhile(() => Atomics.load(this.control, DONE) < expected, this.spinMs);
    const started = Date.now();
    for (let done = Atomics.load(this.control, DONE); done < expected; done = Atomics.load(this.control, DONE)) {
      if (Atomics.wait(this.control, DONE, done, 1000) === 'timed-out' && Date.now() - started > TIMEOUT_MS) {
        this.stop();
        throw new KernelError(`a kernel thread did not answer in ${TIMEOUT_MS / 1000} s; cnfkit stopped its threads (ready({ threads: 1 }) runs without them)`);
      }
    }
  }

  private async waitDoneAsync(expected: number): Promise<void> {
    const started = Date.now();
    while (Atomics.load(this.control, DONE) < expected) {
      if (Date.now() - started > TIMEOUT_MS) throw new KernelError(`the kernel threads did not start in ${TIMEOUT_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}

/** Spins while `waiting()` holds, for at most `ms` (then the caller sleeps on the word), as the workers do. */
function spinWhile(waiting: () => boolean, ms: number): void {
  const until = performance.now() + ms;
  for (let i = 1; waiting(); i++) if ((i & 255) === 0 && performance.now() > until) return;
}

/** How this platform makes a thread from source code, and how many cores it has. */
export interface ThreadHost {
  spawn(source: string): WorkerLike | Promise<WorkerLike>;
  cores(): number;
}

/** Browsers: Web Workers from a Blob; the cores navigator reports. index.node.ts sets Node's. */
let host: ThreadHost = {
  spawn: (source) => new Worker(URL.createObjectURL(new Blob([source], { type: 'text/javascript' }))),
  cores: () => (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1,
};

/** Sets how threads are made here (index.node.ts: worker_threads). */
export function setThreadHost(h: ThreadHost): void {
  host = h;
}

/** The number of cores this platform reports (the default thread count). */
export function availableCores(): number {
  return Math.max(1, host.cores());
}

async function spawnWorker(): Promise<WorkerLike> {
  return host.spawn(WORKER_SOURCE);
}

/**
 * Whether this thread may run kernel threads: SharedArrayBuffer (a cross-origin-isolated page in
 * browsers) and a thread allowed to block (not a window's main thread).
 */
export function threadsSupported(): { ok: boolean; why?: string } {
  if (typeof SharedArrayBuffer === 'undefined') return { ok: false, why: 'no SharedArrayBuffer (a page must be cross-origin isolated)' };
  const g = globalThis as { document?: unknown; window?: unknown };
  if (g.window !== undefined && g.document !== undefined) return { ok: false, why: "a page's main thread may not block; run cnfkit in a Web Worker to use threads" };
  return { ok: true };
}
