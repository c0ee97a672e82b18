/**
 * Kernel threads in Node: worker threads from source (eval), unreferenced so that idle threads do
 * not keep the process alive; the default count is os.availableParallelism().
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ThreadHost } from './native/kernel_threads.js';

export const nodeThreadHost: ThreadHost = {
  spawn(source) {
    const worker = new Worker(source, { eval: true });
    worker.unref();
    return worker;
  },
  cores: () => os.availableParallelism(),
};
