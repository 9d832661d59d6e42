/**
 * The one module that knows how keys are laid out. Thread numbers are fixed-width (u64 big-endian)
 * internal numbers; revisions, seqs and positions are u64 big-endian; versions u32 big-endian; string
 * ids are length-prefixed, never joined with a separator. Big-endian integers sort numerically under
 * RocksDB's bytewise comparator, so a range scan walks a thread's log in revision order.
 */

/** Prefixes of the typed rows of the `indexes` family. */
export const IndexPrefix = {
  /** thread id → thread number */
  threadId: 0x01,
  /** thread number ‖ message id → seq */
  messageId: 0x02,
  /** thread number ‖ request id → RequestRecord */
  requestId: 0x03,
  /** position → thread number ‖ revision */
  position: 0x04,
  /** user ‖ position ‖ thread number → (empty): a user's threads by latest activity */
  userThread: 0x05,
  /** counter name → u64: exact totals kept in the same batches as the events */
  counter: 0x06,
} as const;

/** The exact totals kept in `indexes` (see `counterKey`). */
export const Counter = {
  threads: 'threads',
  deletedThreads: 'deleted_threads',
  messages: 'messages',
  deletedMessages: 'deleted_messages',
  events: 'events',
} as const;

/** The name of a counter. */
export type CounterName = (typeof Counter)[keyof typeof Counter];

const COUNTER_KEYS = new Map<CounterName, Buffer>(
  Object.values(Counter).map((name) => [
    name,
    Buffer.concat([Buffer.from([IndexPrefix.counter]), Buffer.from(name)]),
  ]),
);

/** `indexes` key of a counter: one shared buffer per counter, which callers must not modify. */
export function counterKey(name: CounterName): Buffer {
  const key = COUNTER_KEYS.get(name);
  if (!key) throw new Error(`unknown counter ${String(name)}`);
  return key;
}

/** Keys of the `default` family. */
export const MetaKey = {
  schemaVersion: Buffer.from('schema_version'),
  lastPosition: Buffer.from('last_position'),
  lastThreadNumber: Buffer.from('last_thread_number'),
} as const;

/** The largest u64: the largest revision, seq or position a key can hold. */
export const U64_MAX = 0xffff_ffff_ffff_ffffn;

/** Encodes a u64 big-endian. */
export function u64(value: bigint): Buffer {
  const buf = Buffer.allocUnsafe(8);
  buf.writeBigUInt64BE(value);
  return buf;
}

/** Decodes a u64 big-endian at `offset`. */
export function readU64(buf: Buffer, offset = 0): bigint {
  return buf.readBigUInt64BE(offset);
}

function writeString(buf: Buffer, offset: number, value: string): number {
  const length = buf.write(value, offset + 1, 'utf8');
  buf.writeUInt8(length, offset);
  return offset + 1 + length;
}

function stringBytes(value: string): number {
  const length = Buffer.byteLength(value, 'utf8');
  if (length > 255) throw new RangeError(`key string longer than 255 bytes`);
  return 1 + length;
}

/** `threads` key, and the prefix of the thread's rows in `events`, `versions` and `tails`. */
export function threadKey(thread: bigint): Buffer {
  return u64(thread);
}

/** `events` key: thread ‖ revision. */
export function eventKey(thread: bigint, revision: bigint): Buffer {
  const buf = Buffer.allocUnsafe(16);
  buf.writeBigUInt64BE(thread, 0);
  buf.writeBigUInt64BE(revision, 8);
  return buf;
}

/** Splits an `events` or `tails` key into thread number and revision (or seq). */
export function decodeThreadRevisionKey(key: Buffer): { thread: bigint; revision: bigint } {
  return { thread: key.readBigUInt64BE(0), revision: key.readBigUInt64BE(8) };
}

/** `tails` key: thread ‖ seq. */
export const tailKey = eventKey;

/** `versions` key: thread ‖ seq ‖ version. */
export function versionKey(thread: bigint, seq: bigint, version: number): Buffer {
  const buf = Buffer.allocUnsafe(20);
  buf.writeBigUInt64BE(thread, 0);
  buf.writeBigUInt64BE(seq, 8);
  buf.writeUInt32BE(version, 16);
  return buf;
}

/** The half-open range [from, to) of keys `thread ‖ u64` with the u64 in [from, to). */
export function threadRange(
  thread: bigint,
  from = 0n,
  to: bigint | undefined = undefined,
): { gte: Buffer; lt: Buffer } {
  return {
    gte: eventKey(thread, from),
    lt: to === undefined ? threadKey(thread + 1n) : eventKey(thread, to),
  };
}

/** The range of one message's rows in `versions`. */
export function versionRange(thread: bigint, seq: bigint): { gte: Buffer; lt: Buffer } {
  return { gte: versionKey(thread, seq, 0), lt: eventKey(thread, seq + 1n) };
}

/** `indexes` key: thread id → thread number. */
export function threadIdIndexKey(threadId: string): Buffer {
  const buf = Buffer.allocUnsafe(1 + stringBytes(threadId));
  buf.writeUInt8(IndexPrefix.threadId, 0);
  writeString(buf, 1, threadId);
  return buf;
}

function threadScopedKey(prefix: number, thread: bigint, id: string): Buffer {
  const buf = Buffer.allocUnsafe(9 + stringBytes(id));
  buf.writeUInt8(prefix, 0);
  buf.writeBigUInt64BE(thread, 1);
  writeString(buf, 9, id);
  return buf;
}

/** `indexes` key: thread ‖ message id → seq. */
export function messageIdIndexKey(thread: bigint, messageId: string): Buffer {
  return threadScopedKey(IndexPrefix.messageId, thread, messageId);
}

/** `indexes` key: thread ‖ request id → RequestRecord. */
export function requestIdIndexKey(thread: bigint, requestId: string): Buffer {
  return threadScopedKey(IndexPrefix.requestId, thread, requestId);
}

/** `indexes` key: position → thread ‖ revision. */
export function positionIndexKey(position: bigint): Buffer {
  const buf = Buffer.allocUnsafe(9);
  buf.writeUInt8(IndexPrefix.position, 0);
  buf.writeBigUInt64BE(position, 1);
  return buf;
}

/** The range of position index rows with position in (after, ∞). */
export function positionIndexRange(after: bigint): { gte: Buffer; lt: Buffer } {
  return {
    gte: after >= U64_MAX ? Buffer.from([IndexPrefix.position + 1]) : positionIndexKey(after + 1n),
    lt: Buffer.from([IndexPrefix.position + 1]),
  };
}

/** `indexes` key: user ‖ position ‖ thread → (empty). */
export function userThreadIndexKey(userId: string, position: bigint, thread: bigint): Buffer {
  const head = 1 + stringBytes(userId);
  const buf = Buffer.allocUnsafe(head + 16);
  buf.writeUInt8(IndexPrefix.userThread, 0);
  writeString(buf, 1, userId);
  buf.writeBigUInt64BE(position, head);
  buf.writeBigUInt64BE(thread, head + 8);
  return buf;
}

/** Reads position and thread number back from a `userThreadIndexKey`. */
export function decodeUserThreadIndexKey(key: Buffer): { position: bigint; thread: bigint } {
  return {
    position: key.readBigUInt64BE(key.length - 16),
    thread: key.readBigUInt64BE(key.length - 8),
  };
}

/** The range of one user's thread rows, with position below `beforePosition` when given. */
export function userThreadRange(
  userId: string,
  before?: { position: bigint; thread: bigint },
): { gte: Buffer; lt: Buffer } {
  const prefix = Buffer.allocUnsafe(1 + stringBytes(userId));
  prefix.writeUInt8(IndexPrefix.userThread, 0);
  writeString(prefix, 1, userId);
  return {
    gte: prefix,
    lt: before
      ? userThreadIndexKey(userId, before.position, before.thread)
      : Buffer.concat([prefix, Buffer.alloc(16, 0xff)]),
  };
}

/** The ranges of a thread's rows in the typed index prefixes. */
export const IndexPrefixes = {
  /** Every message id → seq row of a thread. */
  messageIds: (thread: bigint) => threadScopedRange(IndexPrefix.messageId, thread),
  /** Every request id → result row of a thread. */
  requestIds: (thread: bigint) => threadScopedRange(IndexPrefix.requestId, thread),
};

function threadScopedRange(prefix: number, thread: bigint): { gte: Buffer; lt: Buffer } {
  const gte = Buffer.allocUnsafe(9);
  gte.writeUInt8(prefix, 0);
  gte.writeBigUInt64BE(thread, 1);
  const lt = Buffer.allocUnsafe(9);
  lt.writeUInt8(prefix, 0);
  lt.writeBigUInt64BE(thread + 1n, 1);
  return { gte, lt };
}

const PURGE_AUDIT = Buffer.from('purge_audit');

/** `default` key of a whole-thread purge's audit record: "purge_audit" ‖ time ‖ thread number. */
export function purgeAuditKey(timeMs: bigint, thread: bigint): Buffer {
  const buf = Buffer.alloc(PURGE_AUDIT.length + 16);
  PURGE_AUDIT.copy(buf, 0);
  buf.writeBigUInt64BE(timeMs, PURGE_AUDIT.length);
  buf.writeBigUInt64BE(thread, PURGE_AUDIT.length + 8);
  return buf;
}

/** The range of every purge audit record in `default`, oldest first. */
export const purgeAuditRange = {
  gte: Buffer.concat([PURGE_AUDIT, Buffer.alloc(16, 0)]),
  lt: Buffer.concat([PURGE_AUDIT, Buffer.alloc(17, 0xff)]),
};

/** Encodes a thread number ‖ revision pair (the value of a position index row). */
export function threadRevisionValue(thread: bigint, revision: bigint): Buffer {
  return eventKey(thread, revision);
}
