import { isSealed, open, seal, type DataKey } from '../crypto/index.js';
import { LruCache } from '../storage/index.js';
import { SealedContentRecord } from '../gen/progressdb/storage/v1/records.js';
import { decryptFailed } from './errors.js';
import {
  records,
  type EventRecord,
  type MessageRecord,
  type MessageViewRecord,
  type ThreadRecord,
} from './record-codec.js';

/**
 * Sealing of message content at rest: a message record's body and metadata are sealed together
 * under the thread's data key, bound to thread id, message id and version, into `body` (metadata
 * then empty). Records written while encryption was off stay readable as they are.
 * Data flow: command → sealMessage → record in events/versions/tails/threads; reads → openMessage.
 */

function aad(threadId: string, message: MessageRecord) {
  return { threadId, messageId: message.id, version: message.version };
}

/** Seals a message record's content (a copy; `key` undefined: encryption off, unchanged). */
export function sealMessage(
  threadId: string,
  message: MessageRecord,
  key: DataKey | undefined,
): MessageRecord {
  if (!key) return message;
  const content = records.sealedContent.encode({ body: message.body, metadata: message.metadata });
  try {
    const sealed = seal(content, key, aad(threadId, message));
    return { ...message, body: sealed, metadata: {} };
  } finally {
    // The encoding is a slice of Node's shared buffer pool, which lives on with other slices.
    content.fill(0);
  }
}

/** Opens a message record (a copy); plaintext records come back as they are. @throws DECRYPT_FAILED */
export function openMessage(
  threadId: string,
  message: MessageRecord,
  key: DataKey | undefined,
): MessageRecord {
  if (!isSealed(message.body)) return message;
  if (!key) throw decryptFailed(threadId);
  let plaintext: Buffer | undefined;
  try {
    plaintext = open(message.body, key, aad(threadId, message));
    const content = SealedContentRecord.decode(plaintext);
    // The body's own memory: a pooled copy would share an 8 KiB slab with whatever else, and
    // outlive the caches' byte counts and a purge's forgetting.
    const body = Buffer.allocUnsafeSlow(content.body.byteLength);
    body.set(content.body);
    return { ...message, body, metadata: content.metadata };
  } catch {
    throw decryptFailed(threadId);
  } finally {
    plaintext?.fill(0);
  }
}

/** Opens the message of a view. @throws DECRYPT_FAILED */
export function openView(
  threadId: string,
  view: MessageViewRecord,
  key: DataKey | undefined,
): MessageViewRecord {
  return view.message ? { ...view, message: openMessage(threadId, view.message, key) } : view;
}

/** A sealed title starts with a character that validated titles never contain. */
const SEALED_TITLE = '\u0000';
const titleAad = (threadId: string) => ({ threadId, messageId: '#title', version: 0 });

/** Seals a thread title (encrypt_titles); `key` undefined: unchanged. */
export function sealTitle(threadId: string, title: string, key: DataKey | undefined): string {
  if (!key || title === '') return title;
  return SEALED_TITLE + seal(Buffer.from(title), key, titleAad(threadId)).toString('base64');
}

/** Opens a thread title; plain titles come back as they are. @throws DECRYPT_FAILED */
export function openTitle(threadId: string, title: string, key: DataKey | undefined): string {
  if (!title.startsWith(SEALED_TITLE)) return title;
  if (!key) throw decryptFailed(threadId);
  try {
    return open(Buffer.from(title.slice(1), 'base64'), key, titleAad(threadId)).toString('utf8');
  } catch {
    throw decryptFailed(threadId);
  }
}

/** Opens a thread's title and last message. @throws DECRYPT_FAILED */
export function openThread(thread: ThreadRecord, key: DataKey | undefined): ThreadRecord {
  return {
    ...thread,
    title: openTitle(thread.id, thread.title, key),
    lastMessage: thread.lastMessage ? openMessage(thread.id, thread.lastMessage, key) : undefined,
  };
}

/** Opens the message (or title) of an event. @throws DECRYPT_FAILED */
export function openEvent(event: EventRecord, key: DataKey | undefined): EventRecord {
  const payload = event.payload;
  switch (payload?.$case) {
    case 'threadCreated':
    case 'threadUpdated':
      return {
        ...event,
        payload: {
          ...payload,
          value: { ...payload.value, title: openTitle(event.threadId, payload.value.title, key) },
        } as typeof payload,
      };
    case 'messageCreated':
    case 'messageEdited':
    case 'messageDeleted':
      return {
        ...event,
        payload: { ...payload, value: openMessage(event.threadId, payload.value, key) },
      };
    default:
      return event;
  }
}

/** Whether a record holds sealed content (for EncryptExisting and tests). */
export function isSealedMessage(message: MessageRecord): boolean {
  return isSealed(message.body);
}

/**
 * Recently opened message versions, by thread number, seq and version. A sealed version never
 * changes (an edit is a new version), so entries never go stale; a purge forgets its thread's.
 * Scrolling the same pages of a busy thread then decrypts each message once.
 */
export class OpenedMessages {
  /** Each entry counts its plaintext body. */
  readonly #entries: LruCache<MessageRecord>;

  constructor(maxEntries: number, maxBytes = 16 * 1024 * 1024) {
    this.#entries = new LruCache({
      maxEntries,
      maxBytes,
      sizeOf: (message) => message.body.length,
    });
  }

  /** Opens `message` of thread `number`, from the cache when it was opened before. @throws DECRYPT_FAILED */
  open(
    number: bigint,
    threadId: string,
    message: MessageRecord,
    key: DataKey | undefined,
  ): MessageRecord {
    if (!isSealed(message.body)) return message;
    const id = `${number}/${message.seq}/${message.version}`;
    const cached = this.#entries.get(id);
    if (cached) return cached;
    const opened = openMessage(threadId, message, key);
    this.#entries.set(id, opened);
    return opened;
  }

  /** Opens the message of a view through the cache. */
  openView(
    number: bigint,
    threadId: string,
    view: MessageViewRecord,
    key: DataKey | undefined,
  ): MessageViewRecord {
    return view.message
      ? { ...view, message: this.open(number, threadId, view.message, key) }
      : view;
  }

  /** How many opened messages of thread `number` are cached. */
  countThread(number: bigint): number {
    return this.#entries.countPrefix(`${number}/`);
  }

  /** Forgets every opened message of thread `number` (purges). */
  forgetThread(number: bigint): void {
    this.#entries.deletePrefix(`${number}/`);
  }
}
