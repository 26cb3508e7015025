/**
 * What every `as const` registry of the contract derives the same way: its keys in order, and
 * the guard that checks a value received from the other side against them.
 */

/** The registry's keys, in its order. */
export function keysOf<R extends object>(registry: R): (keyof R & string)[] {
  return Object.keys(registry) as (keyof R & string)[];
}

/** The guard of a registry: a string that is one of its own keys (never an inherited `toString` or `__proto__`). */
export function isKeyOf<R extends object>(registry: R): (x: unknown) => x is keyof R & string {
  return (x: unknown): x is keyof R & string => typeof x === 'string' && Object.prototype.hasOwnProperty.call(registry, x);
}
