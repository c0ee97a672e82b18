/**
 * The kernels' module made to import a shared memory, so that threads can run it on one memory: the
 * same code (plain loads and stores; threads synchronise from JavaScript, between kernels), only the
 * memory import's limits rewritten from "initial" to "shared, initial, maximum 65536 pages". Done on
 * the bytes rather than by a second build so that a page carries the kernels once.
 */

const IMPORT_SECTION = 2;
const KIND_MEMORY = 2;
const SHARED_WITH_MAXIMUM = 0x03;
const MAX_PAGES = 65536;

function readLeb(bytes: Uint8Array, at: number): { value: number; next: number } {
  let value = 0;
  let shift = 0;
  let next = at;
  for (;;) {
    const byte = bytes[next++];
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return { value, next };
    shift += 7;
  }
}

function leb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    out.push(byte);
  } while (value > 0);
  return out;
}

/** Skips a name (length-prefixed bytes). */
const skipName = (bytes: Uint8Array, at: number) => {
  const { value, next } = readLeb(bytes, at);
  return next + value;
};

/** Skips limits (flags, initial, maximum when flagged). */
function skipLimits(bytes: Uint8Array, at: number): number {
  const flags = bytes[at];
  let next = readLeb(bytes, at + 1).next;
  if (flags & 1) next = readLeb(bytes, next).next;
  return next;
}

/**
 * The module's bytes with its imported memory declared shared (maximum 65536 pages).
 * @throws Error when the module imports no memory (the kernels always do: `--importMemory`)
 */
export function withSharedMemory(module: Uint8Array): Uint8Array<ArrayBuffer> {
  let at = 8; // magic and version
  while (at < module.length) {
    const id = module[at];
    const size = readLeb(module, at + 1);
    const start = size.next;
    const end = start + size.value;
    if (id === IMPORT_SECTION) {
      const count = readLeb(module, start);
      let p = count.next;
      for (let i = 0; i < count.value; i++) {
        p = skipName(module, skipName(module, p));
        const kind = module[p++];
        if (kind === KIND_MEMORY) {
          const limitsEnd = skipLimits(module, p);
          const initial = readLeb(module, p + 1).value;
          const limits = [SHARED_WITH_MAXIMUM, ...leb(initial), ...leb(MAX_PAGES)];
          const body = [...module.subarray(start, p), ...limits, ...module.subarray(limitsEnd, end)];
          return Uint8Array.from([...module.subarray(0, at), IMPORT_SECTION, ...leb(body.length), ...body, ...module.subarray(end)]);
        }
        if (kind === 0) p = readLeb(module, p).next; // function: type index
        else if (kind === 1) p = skipLimits(module, p + 1); // table: element type, limits
        else if (kind === 3) p += 2; // global: value type, mutability
        else throw new Error(`unknown import kind ${kind}`);
      }
    }
    at = end;
  }
  throw new Error('the module imports no memory');
}
