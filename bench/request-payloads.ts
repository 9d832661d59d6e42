import {
  AppendMessageRequest,
  AppendMessagesRequest,
  ListMessagesRequest,
  NewMessage,
} from '../src/gen/progressdb/v1/message_service.js';

/** The RPC paths the benchmark calls. */
export const METHOD_PATHS = {
  appendMessage: '/progressdb.v1.MessageService/AppendMessage',
  appendMessages: '/progressdb.v1.MessageService/AppendMessages',
  listMessages: '/progressdb.v1.MessageService/ListMessages',
} as const;

/** How many different bodies the load cycles through, so that not every stored body is equal. */
const BODY_VARIANTS = 16;

/** A chat-like JSON body of about `bodyBytes` bytes once serialised as JSON: `{ text: "…" }`. */
export function makeBody(bodyBytes: number, variant = 0): { text: string } {
  const words = 'the quick brown fox jumps over a lazy dog while we wait for the build'.split(' ');
  let text = `#${variant} `;
  for (let i = variant; text.length < bodyBytes - '{"text":""}'.length; i++) {
    text += `${words[i % words.length] ?? 'x'} `;
  }
  return { text: text.slice(0, Math.max(0, bodyBytes - '{"text":""}'.length)) };
}

/** The bytes of a JSON body, to report beside each figure. */
export function bodyJsonBytes(bodyBytes: number): number {
  return Buffer.byteLength(JSON.stringify(makeBody(bodyBytes)));
}

/** The thread ids of the append load: `count` threads, each append picks one at random. */
export function appendThreadIds(count: number, prefix = 'bench-t'): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
}

/**
 * Pre-encoded requests, so the load generator spends its CPU on calls rather than on protobuf.
 * Protobuf lets encodings be concatenated (the fields merge), so each request is a per-thread prefix
 * (the thread id) followed by a shared suffix (the messages).
 */
export class RequestPool {
  private constructor(private readonly next: () => Buffer) {}

  /** The next request to send. */
  take(): Buffer {
    return this.next();
  }

  /** `AppendMessage` with `create_thread`, one ~`bodyBytes` body, to a random one of the threads. */
  static appendMessage(threadIds: string[], bodyBytes: number): RequestPool {
    const requests = threadIds.map((threadId, i) =>
      Buffer.from(
        AppendMessageRequest.encode(
          AppendMessageRequest.fromPartial({
            threadId,
            role: 'user',
            body: makeBody(bodyBytes, i % BODY_VARIANTS),
            createThread: true,
          }),
        ).finish(),
      ),
    );
    return new RequestPool(() => pick(requests));
  }

  /**
   * `AppendMessages` of `batchSize` messages with `create_thread`, to a random one of the threads
   * (or to each in turn, with `roundRobin`).
   */
  static appendMessages(
    threadIds: string[],
    bodyBytes: number,
    batchSize: number,
    roundRobin = false,
  ): RequestPool {
    const prefixes = threadIds.map((threadId) =>
      Buffer.from(
        AppendMessagesRequest.encode(AppendMessagesRequest.fromPartial({ threadId })).finish(),
      ),
    );
    const suffixes = Array.from({ length: 4 }, (_, variant) =>
      Buffer.from(
        AppendMessagesRequest.encode(
          AppendMessagesRequest.fromPartial({
            messages: Array.from({ length: batchSize }, (_, i) =>
              NewMessage.fromPartial({
                role: 'user',
                body: makeBody(bodyBytes, (variant * batchSize + i) % BODY_VARIANTS),
              }),
            ),
            createThread: true,
          }),
        ).finish(),
      ),
    );
    let turn = 0;
    const prefix = roundRobin
      ? () => prefixes[turn++ % prefixes.length] as Buffer
      : () => pick(prefixes);
    return new RequestPool(() => Buffer.concat([prefix(), pick(suffixes)]));
  }

  /**
   * `ListMessages` of `pageSize` on one thread, alternating the newest page and a page before a
   * random seq between `pageSize + 2` and `headSeq` (seq 1 is the thread's creation event).
   */
  static listMessages(threadId: string, pageSize: number, headSeq: bigint): RequestPool {
    const newest = Buffer.from(
      ListMessagesRequest.encode(ListMessagesRequest.fromPartial({ threadId, pageSize })).finish(),
    );
    const low = BigInt(pageSize + 2);
    const span = headSeq > low ? headSeq - low : 1n;
    const anchored = Array.from({ length: 512 }, () =>
      Buffer.from(
        ListMessagesRequest.encode(
          ListMessagesRequest.fromPartial({
            threadId,
            pageSize,
            anchor: {
              $case: 'beforeSeq',
              value: low + BigInt(Math.floor(Math.random() * Number(span))),
            },
          }),
        ).finish(),
      ),
    );
    let calls = 0;
    return new RequestPool(() => (calls++ % 2 === 0 ? newest : pick(anchored)));
  }
}

function pick<T>(items: T[]): T {
  const item = items[Math.floor(Math.random() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}
