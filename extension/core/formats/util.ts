/** Checks shared by the format decoders. */

/**
 * Null when `shape` x `itemsize` bytes from `offset` fit in a file of `size` bytes,
 * otherwise a message with the figures. Uses BigInt so absurd shapes cannot overflow.
 */
export function checkExtent(shape: number[], itemsize: number, offset: number, size: number): string | null {
  let n = 1n;
  for (const d of shape) n *= BigInt(d);
  const need = n * BigInt(itemsize);
  const have = BigInt(size) - BigInt(offset);
  if (need > have) {
    return `truncated: shape ${JSON.stringify(shape)} needs ${need} bytes of data from offset ${offset}, the file has ${have < 0n ? 0n : have}`;
  }
  return null;
}

export function describeError(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Number of elements of a shape (as a JS number; exact up to 2^53). */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
