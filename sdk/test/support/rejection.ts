import assert from 'node:assert/strict';

/** Awaits `promise`, asserts it rejects with an instance of `type`, and returns the error. */
export async function rejection<E extends Error>(
  promise: Promise<unknown>,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type: abstract new (...args: any[]) => E,
): Promise<E> {
  let outcome: unknown;
  try {
    outcome = await promise;
  } catch (error) {
    assert.ok(
      error instanceof type,
      `expected ${type.name}, got ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
    );
    return error;
  }
  assert.fail(`expected ${type.name}, but it resolved with ${String(outcome)}`);
}
