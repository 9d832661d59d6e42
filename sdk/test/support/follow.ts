/** An async iterable consumed in the background, so that a test can act while it runs. */
export interface Follower<T> {
  /** Everything yielded so far. */
  readonly items: T[];
  /** Resolves once `condition` holds; rejects if the loop ends (or fails) first. */
  until(condition: (items: readonly T[]) => boolean): Promise<void>;
  /** Settles when the loop ends: with the error it threw, or `undefined`. */
  readonly ended: Promise<unknown>;
}

/** Starts `for await (const item of iterable)` in the background, stopping when `stop` says so. */
export function follow<T>(
  iterable: AsyncIterable<T>,
  stop: (items: readonly T[]) => boolean = () => false,
): Follower<T> {
  const items: T[] = [];
  let waiters: (() => void)[] = [];
  let finished = false;
  const wake = (): void => {
    const woken = waiters;
    waiters = [];
    for (const resolve of woken) resolve();
  };
  const ended = (async (): Promise<unknown> => {
    try {
      for await (const item of iterable) {
        items.push(item);
        wake();
        if (stop(items)) break;
      }
      return undefined;
    } catch (error) {
      return error;
    } finally {
      finished = true;
      wake();
    }
  })();
  return {
    items,
    ended,
    async until(condition) {
      while (!condition(items)) {
        if (finished) {
          const error = await ended;
          throw new Error(`the loop ended after ${items.length} items before the condition held`, {
            cause: error,
          });
        }
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
  };
}
