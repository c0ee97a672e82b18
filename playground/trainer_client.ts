/**
 * The page's side of the worker: requests as promises (one reply per id), events to a listener, and
 * a crash of the worker itself turned into an error for everything waiting.
 */
import type { EventMessage, ReplyMessage, RequestKind, Requests } from './protocol.js';

export class TrainerClient {
  private worker!: Worker;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  /**
   * @param onEvent - progress and pictures, as the worker posts them
   * @param onCrash - an error the worker did not catch (its script failed to load, or a bug)
   */
  constructor(
    private readonly onEvent: (event: EventMessage) => void,
    private readonly onCrash: (message: string) => void,
  ) {
    this.start();
  }

  /** Sends a request; resolves with its reply's value, rejects with the worker's error message. */
  request<K extends RequestKind>(kind: K, args: Requests[K]['args'], transfer: Transferable[] = []): Promise<Requests[K]['value']> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage({ id, kind, ...args }, transfer);
    });
  }

  /**
   * Ends the worker wherever it is (a worker inside one long computation reads no message, a stop
   * request included) and starts a fresh one; every request waiting is rejected with `reason`.
   */
  restart(reason: string): void {
    this.worker.terminate();
    this.rejectWaiting(reason);
    this.start();
  }

  private start(): void {
    this.worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'cnfkit-trainer' });
    this.worker.onmessage = (e: MessageEvent<EventMessage | ReplyMessage>) => {
      const message = e.data;
      if ('event' in message) return this.onEvent(message);
      const waiter = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      if (message.ok) waiter?.resolve(message.value);
      else waiter?.reject(new Error(message.error));
    };
    this.worker.onerror = (e) => {
      e.preventDefault();
      const text = `The training worker failed: ${e.message || 'its script could not be loaded'}`;
      this.onCrash(text);
      this.rejectWaiting(text);
    };
  }

  private rejectWaiting(reason: string): void {
    for (const waiter of this.waiting.values()) waiter.reject(new Error(reason));
    this.waiting.clear();
  }
}
