import type { DataKey } from '../crypto/index.js';
import { LruCache } from '../storage/index.js';
import type { OpenedMessages } from './message-sealing.js';
import { records, type MessageViewRecord } from './record-codec.js';

interface Entry {
  /** The stored tails row the view was read from. */
  stored: Buffer;
  view: MessageViewRecord;
}

/**
 * Recently read message views of the scroll-back index (`tails`), decoded and opened, by thread
 * number and seq. An entry is used only while the stored row is byte for byte the one it was read
 * from, so an edit, a delete, a reaction or a reply (each rewrites the row) is never served stale
 * and nothing has to invalidate it. A hit skips the decoding and the opening of the row, and hands
 * back the same view object as before: callers must treat views as immutable (the server caches
 * each view's wire encoding by identity). A purge forgets its thread's entries (crypto-shredding:
 * no plaintext outlives the key).
 */
export class OpenedViews {
  readonly #opened: OpenedMessages;
  /** Each entry's stored bytes count; it also holds its plaintext and, in the server, its encoding. */
  readonly #entries: LruCache<Entry>;

  constructor(maxEntries: number, opened: OpenedMessages, maxBytes = 16 * 1024 * 1024) {
    this.#opened = opened;
    this.#entries = new LruCache({ maxEntries, maxBytes, sizeOf: (entry) => entry.stored.length });
  }

  /**
   * The view stored as `stored` (a row of thread `number` in `tails`), decoded and opened.
   * @throws CORRUPT_RECORD, DECRYPT_FAILED
   */
  open(
    number: bigint,
    threadId: string,
    stored: Buffer,
    key: DataKey | undefined,
  ): MessageViewRecord {
    const seq = peekViewSeq(stored);
    const id = seq === undefined ? undefined : `${number}/${seq}`;
    const cached = id === undefined ? undefined : this.#entries.get(id);
    if (cached?.stored.equals(stored)) return cached.view;
    const view = this.#opened.openView(number, threadId, records.messageView.decode(stored), key);
    if (id !== undefined) this.#entries.set(id, { stored, view });
    return view;
  }

  /** How many views of thread `number` are cached. */
  countThread(number: bigint): number {
    return this.#entries.countPrefix(`${number}/`);
  }

  /** Forgets every view of thread `number` (purges). */
  forgetThread(number: bigint): void {
    this.#entries.deletePrefix(`${number}/`);
  }
}

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

/**
 * The seq of an encoded MessageViewRecord (`message` = 1, its `seq` = 2), read without decoding
 * the record; undefined when absent or malformed (the caller then decodes, which reports it).
 */
export function peekViewSeq(bytes: Uint8Array): bigint | undefined {
  const outer = new FieldWalker(bytes, 0, bytes.length);
  while (outer.next()) {
    if (outer.field !== 1 || outer.wireType !== LENGTH_DELIMITED) {
      if (!outer.skip()) return undefined;
      continue;
    }
    const length = outer.length();
    if (length === undefined) return undefined;
    const inner = new FieldWalker(bytes, outer.at, outer.at + length);
    while (inner.next()) {
      if (inner.field === 2 && inner.wireType === VARINT) return inner.uint64();
      if (!inner.skip()) return undefined;
    }
    return undefined;
  }
  return undefined;
}

/** Steps through the fields of one protobuf message in `bytes[at, end)`. */
class FieldWalker {
  field = 0;
  wireType = 0;

  constructor(
    readonly bytes: Uint8Array,
    public at: number,
    readonly end: number,
  ) {}

  /** Reads the next tag; false at the end or on a malformed tag. */
  next(): boolean {
    if (this.at >= this.end) return false;
    const tag = this.#smallVarint();
    if (tag === undefined) return false;
    this.field = tag >>> 3;
    this.wireType = tag & 7;
    return this.field > 0;
  }

  /** Reads a length prefix that fits in the message. */
  length(): number | undefined {
    const length = this.#smallVarint();
    return length !== undefined && this.at + length <= this.end ? length : undefined;
  }

  /** Skips the current field's value; false when malformed. */
  skip(): boolean {
    switch (this.wireType) {
      case VARINT:
        return this.uint64() !== undefined;
      case FIXED64:
        this.at += 8;
        return this.at <= this.end;
      case FIXED32:
        this.at += 4;
        return this.at <= this.end;
      case LENGTH_DELIMITED: {
        const length = this.length();
        if (length === undefined) return false;
        this.at += length;
        return true;
      }
      default:
        return false;
    }
  }

  /** Reads a varint of up to 64 bits. */
  uint64(): bigint | undefined {
    let value = 0n;
    for (let shift = 0n; shift < 70n && this.at < this.end; shift += 7n) {
      const byte = this.bytes[this.at++] as number;
      value |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return BigInt.asUintN(64, value);
    }
    return undefined;
  }

  /** Reads a varint below 2^28 (tags and lengths). */
  #smallVarint(): number | undefined {
    let value = 0;
    for (let shift = 0; shift < 28 && this.at < this.end; shift += 7) {
      const byte = this.bytes[this.at++] as number;
      value |= (byte & 0x7f) << shift;
      if (byte < 0x80) return value;
    }
    return undefined;
  }
}
