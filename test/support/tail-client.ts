import type * as grpc from '@grpc/grpc-js';
import type { Event } from '../../src/gen/progressdb/v1/types.js';
import { errorInfo } from './api-client.js';

/** One frame of a tail, flattened. */
export type TailItem =
  | { kind: 'event'; event: Event }
  | { kind: 'caughtUp'; revision: bigint; position: bigint }
  | { kind: 'heartbeat'; revision: bigint; position: bigint };

interface FrameMessage {
  frame?:
    | { $case: 'event'; value: Event }
    | { $case: 'caughtUp'; value: { revision: bigint; position: bigint } }
    | { $case: 'heartbeat'; value: { revision: bigint; position: bigint } };
}

/** How a tail ended: its code, reason and ErrorInfo metadata (OK for a clean end). */
export interface TailEnd {
  code: grpc.status;
  reason: string | undefined;
  metadata: Record<string, string>;
}

/**
 * A tail stream read by a test: frames queue up as they arrive; `next()` and `until()` wait for
 * them (events, not sleeps), `ended` settles with the stream's status.
 */
export class TailReader {
  readonly items: TailItem[] = [];
  readonly ended: Promise<TailEnd>;
  readonly #stream: grpc.ClientReadableStream<FrameMessage>;
  #read = 0;
  #done = false;
  #waiters: (() => void)[] = [];

  constructor(stream: grpc.ClientReadableStream<FrameMessage>) {
    this.#stream = stream;
    stream.on('data', (message: FrameMessage) => {
      const frame = message.frame;
      if (frame?.$case === 'event') this.items.push({ kind: 'event', event: frame.value });
      else if (frame) this.items.push({ kind: frame.$case, ...frame.value });
      this.#wake();
    });
    this.ended = new Promise((resolve) => {
      stream.on('error', (error: grpc.ServiceError) => {
        const info = errorInfo(error);
        this.#done = true;
        resolve({ code: error.code, reason: info?.reason, metadata: info?.metadata ?? {} });
        this.#wake();
      });
      stream.on('end', () => {
        this.#done = true;
        resolve({ code: 0, reason: undefined, metadata: {} });
        this.#wake();
      });
    });
  }

  /** The events received so far. */
  get events(): Event[] {
    return this.items.flatMap((item) => (item.kind === 'event' ? [item.event] : []));
  }

  /** The next frame not yet returned by `next()`. */
  async next(): Promise<TailItem> {
    await this.until(() => this.items.length > this.#read);
    return this.items[this.#read++] as TailItem;
  }

  /** Resolves once `condition` holds; rejects if the stream ends first. */
  async until(condition: () => boolean): Promise<void> {
    while (!condition()) {
      if (this.#done)
        throw new Error(`the tail ended before the condition held (${this.items.length} frames)`);
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Stops reading from the network (the server's writes back up). */
  pause(): void {
    this.#stream.pause();
  }

  /** Reads from the network again after `pause()`. */
  resume(): void {
    this.#stream.resume();
  }

  /** Cancels the stream from the client side. */
  cancel(): void {
    this.#stream.cancel();
  }

  #wake(): void {
    for (const resolve of this.#waiters.splice(0)) resolve();
  }
}
