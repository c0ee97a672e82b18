/**
 * Giving the event loop a turn between pieces of synchronous work (a training iteration, an async
 * evaluation on a host backend, whose reads resolve on microtasks alone): setImmediate in Node; in
 * pages and workers a MessageChannel message, since browsers clamp nested setTimeout(0) to 4 ms (that
 * made a 0.6 ms flow-matching step take 5 ms in Chromium). Never a timer.
 */
export function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (cb: () => void) => void };
  if (g.setImmediate) return new Promise((resolve) => g.setImmediate!(resolve));
  if (typeof MessageChannel === 'undefined') return new Promise((resolve) => setTimeout(resolve, 0));
  if (!immediate) {
    const channel = new MessageChannel();
    const waiting: (() => void)[] = [];
    channel.port1.onmessage = () => waiting.shift()?.();
    immediate = (resolve) => {
      waiting.push(resolve);
      channel.port2.postMessage(null);
    };
  }
  return new Promise((resolve) => immediate!(resolve));
}
let immediate: ((resolve: () => void) => void) | undefined;
