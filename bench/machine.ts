/**
 * One line on the machine and backend a benchmark ran on, printed at the top of every benchmark.
 */
import os from 'node:os';
import { backendInfo } from '../src/index.node.js';

export function machineLine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const info = backendInfo();
  const wasm = info.name === 'wasm' ? ` (SIMD ${info.simd ? 'on' : 'off'}, tfjs's threads ${info.threads ? 'on' : 'off'})` : '';
  return `${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, tfjs backend ${info.name}${wasm}, cnfkit wasm kernels ${info.kernels} on ${info.kernelThreads}`;
}
