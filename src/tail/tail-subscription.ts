/** What a subscription follows. */
export type TailKind = 'thread' | 'user' | 'all';

/**
 * One live event: its frame (encoded once), where it is, and the frame's size. The hub makes one per
 * event and every subscriber queues the same object.
 */
export interface Delivery<F> {
  readonly frame: F;
  readonly revision: bigint;
  readonly position: bigint;
  readonly bytes: number;
}

/** Bounds of what a subscriber may have waiting. */
export interface SubscriberLimits {
  /** The most undelivered events before the subscriber is dropped. */
  maxBufferedEvents: number;
  /** The most undelivered bytes before the subscriber is dropped. */
  maxBufferedBytes: number;
}

/** Why a subscription ended from the hub's side. */
export type EndReason = 'too_slow' | 'shutting_down' | 'revoked';

/**
 * One tail's mailbox: the hub pushes live deliveries, the stream takes them in order. It is bounded:
 * a subscriber that lets too much pile up is ended (`too_slow`) rather than slowing anyone else.
 * Data flow: writer commit → TailHub.publish → TailSubscription → tail stream → client.
 */
export class TailSubscription<F> {
  readonly kind: TailKind;
  readonly #limits: SubscriberLimits;
  #queue: Delivery<F>[] = [];
  #head = 0;
  #bytes = 0;
  #wake: (() => void) | undefined;
  #ended: EndReason | undefined;
  #heartbeatDue = false;
  /** When the stream last sent something (ms since the epoch); the hub's heartbeat sweep reads it. */
  lastSentAt = Date.now();

  constructor(kind: TailKind, limits: SubscriberLimits) {
    this.kind = kind;
    this.#limits = limits;
  }

  /** Why the hub ended the subscription, if it did. */
  get ended(): EndReason | undefined {
    return this.#ended;
  }

  /** How many deliveries wait. */
  get pending(): number {
    return this.#queue.length - this.#head;
  }

  /** Queues a delivery; ends the subscription as too slow past its limits. */
  push(delivery: Delivery<F>): void {
    if (this.#ended) return;
    this.#queue.push(delivery);
    this.#bytes += delivery.bytes;
    if (
      this.pending > this.#limits.maxBufferedEvents ||
      this.#bytes > this.#limits.maxBufferedBytes
    ) {
      this.end('too_slow');
      return;
    }
    this.#notify();
  }

  /** The next delivery, if any. */
  shift(): Delivery<F> | undefined {
    const next = this.#queue[this.#head];
    if (!next) return undefined;
    this.#queue[this.#head] = undefined as never;
    this.#head++;
    this.#bytes -= next.bytes;
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return next;
  }

  /** Asks the stream to send a heartbeat (it has been idle). */
  requestHeartbeat(): void {
    this.#heartbeatDue = true;
    this.#notify();
  }

  /** True once, after a heartbeat was requested. */
  takeHeartbeat(): boolean {
    const due = this.#heartbeatDue;
    this.#heartbeatDue = false;
    return due;
  }

  /** Resolves when there is something to do: a delivery, a heartbeat, or the end. */
  wait(): Promise<void> {
    if (this.pending > 0 || this.#ended || this.#heartbeatDue) return Promise.resolve();
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }

  /**
   * Ends the subscription (the stream then ends with the matching error). A slow or shut-down
   * subscription drops what waits; a revoked one keeps it, so the member sees their removal.
   */
  end(reason: EndReason): void {
    if (this.#ended) return;
    this.#ended = reason;
    if (reason !== 'revoked') {
      this.#queue = [];
      this.#head = 0;
      this.#bytes = 0;
    }
    this.#notify();
  }

  /** Wakes a waiting stream (for instance when its client went away). */
  interrupt(): void {
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
