/**
 * Training progress: one line rewritten in place on a terminal, plain log lines otherwise.
 */
import type { IterationRecord } from '../train/fit_options.js';

export class ProgressPrinter {
  private lastLogged = 0;
  private readonly started = performance.now();

  constructor(
    private readonly total: number,
    private readonly startIteration: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly logEvery = 50,
  ) {}

  update(r: IterationRecord): void {
    const rate = (r.iteration - this.startIteration) / Math.max(1e-9, (performance.now() - this.started) / 1000);
    const eta = (this.total - r.iteration) / Math.max(rate, 1e-9);
    const line =
      `iteration ${r.iteration}/${this.total}  loss ${r.loss.toFixed(4)}  ` +
      // Flow matching solves no ODE while training: no evaluations to show.
      (r.nfeForward + r.nfeBackward > 0 ? `nfe ${r.nfeForward}/${r.nfeBackward}  ` : '') +
      `${rate.toFixed(1)} it/s  ETA ${formatSeconds(eta)}  T ${r.endTimes.map((t) => t.toFixed(3)).join(',')}`;
    if (this.stream.isTTY) {
      this.stream.write(`\r\x1b[K${line}`);
      if (r.iteration === this.total) this.stream.write('\n');
    } else if (r.iteration === this.total || r.iteration - this.lastLogged >= this.logEvery) {
      this.lastLogged = r.iteration;
      this.stream.write(`${line}\n`);
    }
  }

  /** Ends an in-place line early (e.g. when training is interrupted). */
  interrupt(): void {
    if (this.stream.isTTY) this.stream.write('\n');
  }
}

/** 42s, 3m07s, 1h05m. */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
