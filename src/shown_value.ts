/**
 * A value as an error message shows it: a string quoted (the option '1e-6' is not the number 1e-6,
 * and "must be a positive number, but got 1e-6" reads as a contradiction), a function as such.
 */
export function shownValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  try {
    return String(value);
  } catch {
    return typeof value; // an object whose toString throws
  }
}
