import { randomUUID } from 'node:crypto';
import type { ExpectedRevision } from './gen/progressdb/v1/types.js';

/** Any JSON value: what a message body may be. */
export type JsonValue =
  null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * A revision, seq or position (uint64 on the wire, `bigint` in results). Requests also take a
 * non-negative safe integer `number` or a decimal `string`.
 */
export type RevisionInput = bigint | number | string;

/**
 * The condition of a write on the thread's head: a revision (the head must be exactly that) or
 * `'no_thread'` (the thread must not exist yet). Absent: no condition.
 */
export type ExpectedRevisionInput = bigint | number | 'no_thread' | (string & {});

const UINT64_MAX = 2n ** 64n - 1n;

/**
 * A revision input as a `bigint`.
 * @throws RangeError for a negative, fractional, unsafe or non-decimal value, or one over uint64.
 */
export function toRevision(value: RevisionInput, name: string): bigint {
  let revision: bigint;
  if (typeof value === 'bigint') revision = value;
  else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw new RangeError(`${name} must be a safe integer or a bigint, got ${value}`);
    }
    revision = BigInt(value);
  } else if (typeof value === 'string' && /^\d+$/.test(value)) revision = BigInt(value);
  else throw new RangeError(`${name} must be a bigint, number or decimal string, got ${value}`);
  if (revision < 0n || revision > UINT64_MAX) {
    throw new RangeError(`${name} must be between 0 and 2^64-1, got ${revision}`);
  }
  return revision;
}

/** A revision input as a `bigint`, or `undefined` when absent. */
export function optionalRevision(
  value: RevisionInput | undefined,
  name: string,
): bigint | undefined {
  return value === undefined ? undefined : toRevision(value, name);
}

/** The wire form of an `expectedRevision` input; `undefined` (no condition) when absent. */
export function expectedRevision(
  value: ExpectedRevisionInput | undefined,
): ExpectedRevision | undefined {
  if (value === undefined) return undefined;
  if (value === 'no_thread') return { kind: { $case: 'noThread', value: true } };
  return { kind: { $case: 'exact', value: toRevision(value, 'expectedRevision') } };
}

/** The caller's request id, or a fresh one, so that a retried write is recognised as a repeat. */
export function requestIdOr(value: string | undefined): string {
  return value === undefined || value === '' ? randomUUID() : value;
}

/** Returns `value`; throws when the server left out a field it always sends. */
export function required<T>(value: T | undefined, what: string, method: string): T {
  if (value === undefined) throw new Error(`${method}: the server answered without ${what}`);
  return value;
}
