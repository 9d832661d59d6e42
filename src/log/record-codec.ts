import type { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import {
  EventRecord,
  MessageRecord,
  MessageViewRecord,
  RequestRecord,
  SealedContentRecord,
  ThreadRecord,
} from '../gen/progressdb/storage/v1/records.js';
import { corruptRecord } from './errors.js';
import { ReusableWriter } from './reusable-writer.js';

interface Codec<T> {
  encode(message: T, writer?: BinaryWriter): BinaryWriter;
  decode(input: BinaryReader | Uint8Array, length?: number): T;
}

const recordWriter = new ReusableWriter();

/** Encodes a record with the long-lived record writer. */
function encodeShared<T>(codec: Codec<T>, record: T): Buffer {
  return recordWriter.encode((writer) => codec.encode(record, writer));
}

function bind<T>(codec: Codec<T>, family: string, writer = recordWriter) {
  return {
    encode(record: T): Buffer {
      return writer.encode((w) => codec.encode(record, w));
    },
    /** @throws ProgressDbError CORRUPT_RECORD when the bytes are not a record. */
    decode(bytes: Buffer): T {
      try {
        return codec.decode(bytes);
      } catch {
        throw corruptRecord(family);
      }
    },
  };
}

const EVENT_MESSAGE_FIELDS = { messageCreated: 15, messageEdited: 16, messageDeleted: 17 } as const;

/** Bytes of a varint (for tags and lengths, which stay far below 2^31). */
function varintBytes(value: number): number {
  let bytes = 1;
  for (let rest = value; rest > 0x7f; rest >>>= 7) bytes++;
  return bytes;
}

/** Writes a varint at `offset`; returns the offset after it. */
function writeVarint(out: Buffer, offset: number, value: number): number {
  let at = offset;
  let rest = value;
  while (rest > 0x7f) {
    out[at++] = (rest & 0x7f) | 0x80;
    rest >>>= 7;
  }
  out[at++] = rest;
  return at;
}

/**
 * `head` followed by `bytes` as length-delimited field `field` (what an encoder writes for an
 * embedded message), in one buffer.
 */
function withEmbedded(head: Buffer | undefined, field: number, bytes: Buffer): Buffer {
  const tag = (field << 3) | 2;
  const headBytes = head?.length ?? 0;
  const out = Buffer.allocUnsafe(
    headBytes + varintBytes(tag) + varintBytes(bytes.length) + bytes.length,
  );
  if (head) head.copy(out, 0);
  let at = writeVarint(out, headBytes, tag);
  at = writeVarint(out, at, bytes.length);
  bytes.copy(out, at);
  return out;
}

/**
 * Encodings that embed a message record encoded once, instead of encoding it again for the event,
 * the version and the view. They produce exactly what the generated encoders would (fields in
 * field-number order), which the projection rebuild test checks byte for byte.
 */
export const embedding = {
  /** An event whose payload is a message record already encoded as `message`. */
  event(event: EventRecord, message: Buffer): Buffer {
    const kind = event.payload?.$case;
    if (kind !== 'messageCreated' && kind !== 'messageEdited' && kind !== 'messageDeleted') {
      throw new Error(`event ${event.revision} does not carry a message`);
    }
    const head = encodeShared(EventRecord, { ...event, payload: undefined });
    return withEmbedded(head, EVENT_MESSAGE_FIELDS[kind], message);
  },
  /** The view of a new message: no reactions, no replies. */
  newView(message: Buffer): Buffer {
    return withEmbedded(undefined, 1, message);
  },
};

/** Binary codecs of the stored records (protobuf, schema in proto/progressdb/storage/v1). */
export const records = {
  event: bind(EventRecord, 'events'),
  message: bind(MessageRecord, 'versions'),
  messageView: bind(MessageViewRecord, 'tails'),
  thread: bind(ThreadRecord, 'threads'),
  request: bind(RequestRecord, 'indexes'),
  /**
   * Plaintext, sealed at once: its writer keeps no copy, and `sealMessage` zeroes the encoding
   * once sealed, so it may come from the shared pool like any other.
   */
  sealedContent: bind(SealedContentRecord, 'sealed content', new ReusableWriter({ wipe: true })),
};

export type {
  EventRecord,
  MessageRecord,
  MessageViewRecord,
  ReactionUsersRecord,
  RequestRecord,
  ThreadRecord,
} from '../gen/progressdb/storage/v1/records.js';
