import type { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import {
  EventRecord,
  MessageRecord,
  MessageViewRecord,
  RequestRecord,
  ThreadRecord,
} from '../gen/progressdb/storage/v1/records.js';
import { corruptRecord } from './errors.js';

interface Codec<T> {
  encode(message: T, writer?: BinaryWriter): BinaryWriter;
  decode(input: BinaryReader | Uint8Array, length?: number): T;
}

function bind<T>(codec: Codec<T>, family: string) {
  return {
    encode(record: T): Buffer {
      const bytes = codec.encode(record).finish();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
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

/** Binary codecs of the stored records (protobuf, schema in proto/progressdb/storage/v1). */
export const records = {
  event: bind(EventRecord, 'events'),
  message: bind(MessageRecord, 'versions'),
  messageView: bind(MessageViewRecord, 'tails'),
  thread: bind(ThreadRecord, 'threads'),
  request: bind(RequestRecord, 'indexes'),
};

export type {
  EventRecord,
  MessageRecord,
  MessageViewRecord,
  ReactionUsersRecord,
  RequestRecord,
  ThreadRecord,
} from '../gen/progressdb/storage/v1/records.js';
