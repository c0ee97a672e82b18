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

// Control words (Int32): the command generation, the command, its argument, workers done.
const GENERATION = 0;
const COMMAND = 1;
const ARGUMENT = 2;
const DONE = 3;
const RUN = 1;
const YIELD = 2;
const STOP = 3;
const RESULT_SLOTS = 64;
/** A worker that does not answer within this time is taken for dead (a clear error, never a hang). */
const TIMEOUT_MS = 60_000;

/**
 * The worker: instances by workspace id, programs by id; between messages it blocks on the
 * generation word and runs what the command says. YIELD returns to the event loop for a message.
 */
const WORKER_SOURCE = `
const port = typeof require === 'function' ? require('node:worker_threads').parentPort : self;
const on = (f) => (typeof require === 'function' ? port.on('message', f) : (port.onmessage = (e) => f(e.data)));
let ctrl, results, index, seen = 0, time;
const instances = new Map(), programs = new Map();
function serve() {
  for (;;) {
    Atomics.wait(ctrl, ${GENERATION}, seen);
    seen = Atomics.load(ctrl, ${GENERATION});
    const command = Atomics.load(ctrl, ${COMMAND});
    if (command === ${RUN}) {
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
    ctrl = new Int32Array(m.control); results = new Float64Array(m.results); time = new Float64Array(m.time); index = m.index;
    seen = Atomics.load(ctrl, ${GENERATION});
  } else if (m.type === 'attach') {
    instances.set(m.id, new WebAssembly.Instance(m.module, { env: { memory: m.memory } }).exports);
  } else if (m.type === 'detach') {
    instances.delete(m.id);
    for (const [id, p] of programs) if (p.workspace === m.id) programs.delete(id);
  } else if (m.type === 'program') {
    const k = instances.get(m.workspace);
    const program = m.calls.map(([name, args, slot]) => [k[name], args, slot, args.flatMap((a, i) => (Number.isNaN(a) ? [i] : []))]);
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
  }

  /** Starts `count − 1` workers and waits until each is listening. */
  static async start(count: number): Promise<KernelThreads> {
    const workers: WorkerLike[] = [];
    for (let i = 1; i < count; i++) workers.push(await spawnWorker());
    const pool = new KernelThreads(count, workers);
    workers.forEach((w, i) => w.postMessage({ type: 'start', control: pool.control.buffer, results: pool.results.buffer, time: pool.time.buffer, index: i }));
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
    if (!this.stopped) this.message({ type: 'detach', id: workspace });
  }

  /** Gives worker w (1 … count − 1) the program `calls[w − 1]`; returns the program's id. */
  program(workspace: number, calls: KernelCall[][]): number {
    const id = this.nextId++;
    this.message({ type: 'program', id, workspace, calls }, calls);
    return id;
  }

  /** Drops a program in every worker. */
  forget(program: number): void {
    if (!this.stopped) this.message({ type: 'forget', id: program });
  }

  /** How many times programs ran on the workers (tests check that the threaded path ran). */
  runs = 0;

  /** Runs program `id` on every worker while `own` runs here; returns when all are done. */
  run(id: number, own: () => void): void {
    this.runs++;
    Atomics.store(this.control, DONE, 0);
    Atomics.store(this.control, COMMAND, RUN);
    Atomics.store(this.control, ARGUMENT, id);
    Atomics.add(this.control, GENERATION, 1);
    Atomics.notify(this.control, GENERATION);
    try {
      own();
    } finally {
      this.waitDone(this.workers.length);
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
