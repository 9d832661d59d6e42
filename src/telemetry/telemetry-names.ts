/** The instrumentation scope of every ProgressDB tracer and meter. */
export const SCOPE = 'progressdb';

/**
 * Metric names, with their unit in the name (the Prometheus exporter adds none); Prometheus shows
 * dots as underscores and counters with `_total`.
 */
export const Metric = {
  /** Histogram, seconds: a call from arrival to its status, by service, method and code. */
  rpcDuration: 'progressdb.rpc.server.duration_seconds',
  /** Histogram: commands (writer jobs) per group commit. */
  groupCommitCommands: 'progressdb.group_commit.commands',
  /** Histogram: events appended per group commit. */
  groupCommitEvents: 'progressdb.group_commit.events',
  /** Histogram, bytes: keys and values written per group commit. */
  groupCommitBytes: 'progressdb.group_commit.bytes',
  /** Histogram, seconds: the batch write (with its fsync in `sync` durability) on the commit thread. */
  groupCommitWrite: 'progressdb.group_commit.write_seconds',
  /** Histogram, seconds: from a group leaving the writer to its callers being answered. */
  groupCommitDuration: 'progressdb.group_commit.duration_seconds',
  /** Counter: events appended (committed) to the log. */
  eventsAppended: 'progressdb.events.appended',
  /** Counter, bytes: keys and values written, by column family. */
  familyWrittenBytes: 'progressdb.storage.written_bytes',
  /** Counter: keys put or deleted, by column family and operation. */
  familyWrittenKeys: 'progressdb.storage.written_keys',
  /** Gauge, bytes: a column family's SST files (unflushed data in the WAL is not counted). */
  familyBytes: 'progressdb.storage.family_bytes',
  /** Gauge: estimated keys in a column family's SST files (entries minus deletions). */
  familyKeys: 'progressdb.storage.family_keys',
  /** Gauge, bytes: the database folder's files on disk, by kind (sst, wal, other). */
  diskBytes: 'progressdb.storage.disk_bytes',
  /** Gauge: live tail subscribers, by kind. */
  tailSubscribers: 'progressdb.tail.subscribers',
  /** Counter: subscribers dropped for being too slow, by kind. */
  tailDropped: 'progressdb.tail.dropped',
  /** Counter: events delivered live to subscribers. */
  tailDelivered: 'progressdb.tail.delivered',
  /** Counter: events tails replayed from storage. */
  tailReplayed: 'progressdb.tail.replayed',
  /** Counter: key-provider (KMS) calls, by provider, operation and outcome. */
  kmsCalls: 'progressdb.kms.calls',
  /** Histogram, seconds: key-provider calls, retries included. */
  kmsDuration: 'progressdb.kms.duration_seconds',
  /** Counter: data-key cache lookups, by result (hit, miss). */
  keyCacheLookups: 'progressdb.key_cache.lookups',
} as const;

/** Span names. */
export const SpanName = {
  /** One group commit: the batch write and fsync of the requests it carries. */
  groupCommit: 'progressdb.group_commit',
  /** A RocksDB range scan (reads of many rows; point reads get no span). */
  rocksScan: 'progressdb.rocksdb.scan',
  /** A key-provider call; the operation follows the dot. */
  kmsPrefix: 'progressdb.kms.',
} as const;

/** Attribute names of spans and metrics. */
export const Attr = {
  /** The full gRPC service name, e.g. `progressdb.v1.ThreadService` (as the gRPC spans name it). */
  rpcService: 'rpc.service',
  /** The RPC method, e.g. `AppendMessage`. */
  rpcMethod: 'rpc.method',
  /** The gRPC status code's name, e.g. `OK`, `NOT_FOUND`. */
  rpcCode: 'rpc.grpc.status',
  /** Commands in a group commit. */
  commands: 'progressdb.group_commit.commands',
  /** Events in a group commit. */
  events: 'progressdb.group_commit.events',
  /** Bytes of a group commit. */
  bytes: 'progressdb.group_commit.bytes',
  /** Batch operations of a group commit. */
  ops: 'progressdb.group_commit.ops',
  /** Whether a group commit was fsynced (durability `sync`). */
  sync: 'progressdb.group_commit.sync',
  /** A RocksDB column family. */
  family: 'progressdb.storage.family',
  /** put or del. */
  operation: 'progressdb.operation',
  /** Rows a scan returned. */
  rows: 'progressdb.storage.rows',
  /** Kind of file on disk: sst, wal, other. */
  fileKind: 'progressdb.storage.file_kind',
  /** A tail subscriber's kind: thread, user, all. */
  tailKind: 'progressdb.tail.kind',
  /** The key provider: local or aws. */
  kmsProvider: 'progressdb.kms.provider',
  /** The key-provider operation: generate, decrypt, rewrap. */
  kmsOperation: 'progressdb.kms.operation',
  /** ok or error. */
  outcome: 'progressdb.outcome',
  /** hit or miss. */
  cacheResult: 'progressdb.key_cache.result',
} as const;
