import type { ServerWritableStream } from '@grpc/grpc-js';
import { ProgressDbError, Reason } from '../log/index.js';
import type { Delivery, TailHub, TailSubscription } from '../tail/index.js';
import type { EncodedResponse } from './wire-encoding.js';

/** A tail frame: an encoded event, or a caught-up / heartbeat marker object. */
export type TailFrame =
  | EncodedResponse
  | { frame: { $case: 'caughtUp' | 'heartbeat'; value: { revision: bigint; position: bigint } } };

/** Where a tail is: the last revision (TailThread) or position (TailUser, TailAll) it sent. */
export interface TailCursor {
  /** The metadata key of the resume point in errors: `last_revision` or `last_position`. */
  readonly key: 'last_revision' | 'last_position';
  value: bigint;
}

/**
 * One tail stream's writing side: honours back-pressure (waits for 'drain', and wakes on
 * cancellation too), then follows its subscription live, skipping what the replay already sent,
 * with heartbeats when idle. It ends with SUBSCRIBER_TOO_SLOW or SHUTTING_DOWN and the resume point
 * when the hub drops it, and quietly when the client goes away.
 * Data flow: replay (storage) and TailSubscription → TailStream → grpc-js call → client.
 */
export class TailStream {
  readonly #call: ServerWritableStream<unknown, unknown>;
  readonly #subscription: TailSubscription<EncodedResponse>;
  readonly #hub: TailHub<EncodedResponse>;
  readonly cursor: TailCursor;
  #cancelled = false;
  #drainWaiters: (() => void)[] = [];

  constructor(
    call: ServerWritableStream<unknown, unknown>,
    subscription: TailSubscription<EncodedResponse>,
    hub: TailHub<EncodedResponse>,
    cursor: TailCursor,
  ) {
    this.#call = call;
    this.#subscription = subscription;
    this.#hub = hub;
    this.cursor = cursor;
    const stop = (): void => {
      this.#cancelled = true;
      this.#wakeDrainWaiters();
      subscription.interrupt();
    };
    call.on('cancelled', stop);
    call.on('close', stop);
    call.on('error', stop);
    call.on('drain', () => this.#wakeDrainWaiters());
  }

  /** True once the client went away. */
  get cancelled(): boolean {
    return this.#cancelled || this.#call.cancelled;
  }

  /**
   * Writes a frame; returns a promise only when the client's buffer is full and the stream must
   * wait for it to drain.
   * @throws SUBSCRIBER_TOO_SLOW / SHUTTING_DOWN when the hub ended the subscription.
   */
  send(frame: TailFrame): Promise<void> | undefined {
    // A revoked tail still sends what it was given; it ends when its mailbox is empty.
    if (this.#subscription.ended !== 'revoked') this.#throwIfEnded();
    this.#subscription.lastSentAt = Date.now();
    if (this.#call.write(frame)) return undefined;
    return new Promise((resolve) => {
      if (this.cancelled) resolve();
      else this.#drainWaiters.push(resolve);
    });
  }

  /** Sends `caught_up` at the cursor. */
  caughtUp(): Promise<void> | undefined {
    return this.send({ frame: { $case: 'caughtUp', value: this.#marker() } });
  }

  /**
   * Follows the subscription until the client goes away (or the hub ends it): deliveries past the
   * cursor are sent and move it; those at or before it were sent by the replay and are skipped.
   */
  async followLive(cursorOf: (delivery: Delivery<EncodedResponse>) => bigint): Promise<void> {
    const subscription = this.#subscription;
    for (;;) {
      if (this.cancelled) return;
      this.#throwIfEnded();
      const delivery = subscription.shift();
      if (delivery) {
        const at = cursorOf(delivery);
        if (at <= this.cursor.value) continue;
        this.cursor.value = at;
        const pending = this.send(delivery.frame);
        if (pending) await pending;
        continue;
      }
      if (subscription.takeHeartbeat()) {
        const pending = this.send({ frame: { $case: 'heartbeat', value: this.#marker() } });
        if (pending) await pending;
        continue;
      }
      await subscription.wait();
    }
  }

  /** Counts replayed events for the metrics. */
  replayed(events: number): void {
    this.#hub.countReplayed(events);
  }

  #marker(): { revision: bigint; position: bigint } {
    return this.cursor.key === 'last_revision'
      ? { revision: this.cursor.value, position: 0n }
      : { revision: 0n, position: this.cursor.value };
  }

  #throwIfEnded(): void {
    const ended = this.#subscription.ended;
    if (!ended || this.cancelled) return;
    // A revoked tail first delivers what it was given (its member's removal).
    if (ended === 'revoked' && this.#subscription.pending > 0) return;
    const metadata = { [this.cursor.key]: String(this.cursor.value) };
    if (ended === 'revoked') {
      throw new ProgressDbError(Reason.notAMember, 'removed from the thread', metadata);
    }
    if (ended === 'too_slow') {
      throw new ProgressDbError(
        Reason.subscriberTooSlow,
        'the tail fell too far behind and was ended; resume from the last delivered point',
        metadata,
      );
    }
    throw new ProgressDbError(Reason.shuttingDown, 'the server is shutting down', metadata);
  }

  #wakeDrainWaiters(): void {
    for (const resolve of this.#drainWaiters.splice(0)) resolve();
  }
}
