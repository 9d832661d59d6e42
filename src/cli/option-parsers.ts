import { InvalidArgumentError } from 'commander';

/** Parses a whole number from `min` to `max` (commander argParser); bad text is a usage error. */
export function integerIn(min: number, max: number): (text: string) => number {
  return (text) => {
    const value = /^\d+$/.test(text.trim()) ? Number(text) : NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    }
    return value;
  };
}

/** Parses a revision or seq (a non-negative whole number) into a bigint. */
export function revision(text: string): bigint {
  if (!/^\d+$/.test(text.trim())) {
    throw new InvalidArgumentError('expected a revision: a whole number, 0 or more');
  }
  return BigInt(text.trim());
}
