/**
 * A CSV file the command line writes (eval's log-densities, sample's points, merge's result): written
 * under a temporary name beside its path and renamed onto it only when complete, so a job stopped
 * half-way leaves no half file under the final name (which `cnfkit merge` could not tell from a whole
 * one), and a failed run leaves what was there before.
 */
import { appendFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';

export class CsvOutput {
  private readonly partial: string;
  private done = false;

  constructor(readonly path: string, header: string) {
    this.partial = `${path}.partial-${process.pid}`;
    // 'wx': a file of that name that is not ours is never overwritten (nor later removed).
    writeFileSync(this.partial, header + '\n', { flag: 'wx' });
  }

  /** Appends lines (each without its line break). */
  append(lines: readonly string[]): void {
    if (lines.length) appendFileSync(this.partial, lines.join('\n') + '\n');
  }

  /** Renames the complete file onto its path. */
  commit(): void {
    renameSync(this.partial, this.path);
    this.done = true;
  }

  /** Removes the temporary file unless committed (ours: written just now); for `finally` blocks. */
  close(): void {
    if (!this.done) rmSync(this.partial, { force: true });
  }
}
