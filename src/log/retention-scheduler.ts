import type { Retention, RetentionReport } from './retention.js';

/** What the scheduler tells its owner after each run (for logs and metrics). */
export interface RetentionRunListener {
  (
    outcome:
      { report: RetentionReport; error?: undefined } | { report?: undefined; error: unknown },
  ): void;
}

/**
 * Runs retention every `intervalMs`, one run at a time: the next run is scheduled when the last one
 * ends, so a long purge never piles runs up. The timer does not keep the process alive.
 */
export class RetentionScheduler {
  readonly #retention: Retention;
  readonly #intervalMs: number;
  readonly #onRun: RetentionRunListener;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(retention: Retention, intervalMs: number, onRun: RetentionRunListener) {
    this.#retention = retention;
    this.#intervalMs = intervalMs;
    this.#onRun = onRun;
  }

  /**
   * Schedules the first run one interval from now; does nothing when the interval is 0. It runs
   * with no global policy set too, as a thread may set its own message TTL in its metadata.
   */
  start(): void {
    if (this.#intervalMs > 0) this.#schedule();
  }

  /** Stops scheduling and makes a run in progress stop after its current job. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#retention.stop();
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#tick(), this.#intervalMs);
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    try {
      this.#onRun({ report: await this.#retention.run({ dryRun: false }) });
    } catch (error) {
      this.#onRun({ error });
    }
    this.#schedule();
  }
}
