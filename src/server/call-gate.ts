/**
 * Counts the calls in flight and refuses new ones once draining, so that shutdown can wait for
 * in-flight writes to finish before the writer and the database close.
 */
export class CallGate {
  #inFlight = 0;
  #draining = false;
  #idle: (() => void)[] = [];

  /** True once shutdown began. */
  get draining(): boolean {
    return this.#draining;
  }

  /** Marks a call as started; returns false when draining (the call must be refused). */
  enter(): boolean {
    if (this.#draining) return false;
    this.#inFlight++;
    return true;
  }

  /** Marks a call as finished. */
  leave(): void {
    this.#inFlight--;
    if (this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }

  /** Refuses new calls and resolves when the calls in flight have finished. */
  drain(): Promise<void> {
    this.#draining = true;
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}
