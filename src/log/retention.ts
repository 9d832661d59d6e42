import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { Counter, Family, keys, type RocksStore } from '../storage/index.js';
import type { LogTransaction } from './commands.js';
import {
  adjustReplyCount,
  bumpCounter,
  finishThread,
  newestLiveMessage,
  openThreadState,
  projectEvent,
  readView,
} from './projector.js';
import {
  records,
  type EventRecord,
  type MessageRecord,
  type ThreadRecord,
} from './record-codec.js';
import type { ThreadAdmin } from './thread-admin.js';
import type { ThreadLog } from './thread-log.js';

/**
 * Thread metadata key that overrides the message TTL for one thread: a whole number of seconds, or
 * `off` to keep the thread's messages forever. Other values are ignored (the global TTL applies).
 */
export const MESSAGE_TTL_METADATA_KEY = 'progressdb.message_ttl_seconds';

const TTL_OVERRIDE = /^(?:off|[1-9][0-9]{0,11})$/;

/** Whether `value` is a valid message TTL override: whole seconds (1 to 12 digits) or `off`. */
export function isMessageTtlOverride(value: string): boolean {
  return TTL_OVERRIDE.test(value);
}

/** The retention policies; each is off while undefined. */
export interface RetentionPolicies {
  /** Purge soft-deleted threads this many seconds after their deletion. */
  readonly deletedThreadGraceSeconds: number | undefined;
  /** Remove messages created more than this many seconds ago. */
  readonly messageTtlSeconds: number | undefined;
  /** Keep at most this many versions of each message (the latest always). */
  readonly maxVersions: number | undefined;
  /** Most messages one write job changes, so appends keep flowing during a large purge. */
  readonly batchSize: number;
}

/** What one run removed, or would remove (dry run). */
export interface RetentionReport {
  dryRun: boolean;
  threadsPurged: bigint;
  messagesPurged: bigint;
  versionsPurged: bigint;
}

/** The audit event's `policy`: which rule removed what. */
const Policy = { messageTtl: 'message_ttl', maxVersions: 'max_versions' } as const;

const THREAD_PAGE = 256;
const SCAN_PAGE = 512;
/** The longest a run keeps the event loop before it lets other work (appends, reads) in. */
const SLICE_MS = 4;

/** A message the version cap trims: versions 1..`upTo` lose their content. */
interface CappedMessage {
  seq: bigint;
  id: string;
  upTo: number;
}

/** The events of one thread that mention the messages a run removes or trims. */
interface EventRefs {
  /** seq → id of the messages the TTL removes. */
  expired: ReadonlyMap<bigint, string>;
  /** seq → the last version the cap trims. */
  caps: ReadonlyMap<bigint, number>;
  /** seq → revisions of every event about the message (created, edited, deleted, reactions). */
  all: Map<bigint, bigint[]>;
  /** seq → revisions of the versions the cap trims. */
  capped: Map<bigint, bigint[]>;
  /** The head revision the scan saw; later events are checked inside the write job. */
  head: bigint;
}

/**
 * Applies the retention policies (DESIGN.md, Operations): soft-deleted threads are purged after a
 * grace period (crypto-shredding, like PurgeThread); messages past the TTL are removed with their
 * versions, reactions, index rows and counts; old versions past the cap lose their body and metadata
 * (their events stay, stripped, so the log keeps its revisions and positions).
 *
 * Work happens in bounded write jobs through the single writer, so appends keep flowing. Every job
 * is complete in itself, and a run recomputes what remains to do from the data, so a run cut short
 * by a crash is finished by the next one. Each job that changes a thread appends a small
 * `messages_purged` audit event to it, in the same batch: tails and ReadEvents see what retention
 * did, and the thread's head stays its newest event, so a rebuild from `events` reproduces every
 * projection. Whole-thread purges leave a PurgeAuditRecord in `default` (keys.purgeAuditRange).
 * Data flow: scheduler or AdminService.RunRetention → Retention → ThreadLog writer → RocksStore.
 */
export class Retention {
  readonly #store: RocksStore;
  readonly #log: ThreadLog;
  readonly #admin: ThreadAdmin;
  readonly #policies: RetentionPolicies;
  readonly #now: () => number;
  #queue: Promise<unknown> = Promise.resolve();
  #stopping = false;
  #sliceStart = 0;

  constructor(
    store: RocksStore,
    log: ThreadLog,
    admin: ThreadAdmin,
    policies: RetentionPolicies,
    now: () => number = Date.now,
  ) {
    this.#store = store;
    this.#log = log;
    this.#admin = admin;
    this.#policies = policies;
    this.#now = now;
  }

  /** Runs every policy once (runs never overlap: a second caller waits for the first). */
  run(options: { dryRun: boolean }): Promise<RetentionReport> {
    const next = this.#queue.then(() => this.#run(options.dryRun));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** Makes a run in progress stop after its current job (shutdown); the next run resumes. */
  stop(): Promise<unknown> {
    this.#stopping = true;
    return this.#queue;
  }

  /**
   * Lets the event loop run other work once this run has held it for a slice: scanning a large
   * database would otherwise stall every call for the whole scan.
   */
  async #pace(): Promise<void> {
    if (performance.now() - this.#sliceStart < SLICE_MS) return;
    await yieldToLoop();
    this.#sliceStart = performance.now();
  }

  async #run(dryRun: boolean): Promise<RetentionReport> {
    this.#sliceStart = performance.now();
    const report: RetentionReport = {
      dryRun,
      threadsPurged: 0n,
      messagesPurged: 0n,
      versionsPurged: 0n,
    };
    // Even with no global policy a run walks the threads: one may set its own message TTL.
    const now = this.#now();
    const grace = this.#policies.deletedThreadGraceSeconds;
    let gte = Buffer.alloc(0);
    for (;;) {
      const rows = this.#store.scan(Family.threads, {
        gte,
        lt: Buffer.alloc(9, 0xff),
        limit: THREAD_PAGE,
      });
      for (const row of rows) {
        if (this.#stopping) return report;
        await this.#pace();
        const number = keys.readU64(row.key);
        const thread = records.thread.decode(row.value);
        if (thread.deleted) {
          if (grace !== undefined && now - Number(thread.updatedAtMs) >= grace * 1000) {
            report.threadsPurged++;
            if (!dryRun) await this.#admin.purgeNumber(number, thread.id, 'deleted_thread_grace');
          }
          continue;
        }
        await this.#applyToThread(number, thread, now, dryRun, report);
      }
      const last = rows[rows.length - 1];
      if (rows.length < THREAD_PAGE || !last) return report;
      gte = Buffer.concat([last.key, Buffer.from([0])]);
    }
  }

  /** The message TTL of a thread in seconds: its metadata override, else the global one. */
  #ttlSeconds(thread: ThreadRecord): number | undefined {
    const override = thread.metadata[MESSAGE_TTL_METADATA_KEY];
    if (override === undefined || !isMessageTtlOverride(override)) {
      return this.#policies.messageTtlSeconds;
    }
    return override === 'off' ? undefined : Number(override);
  }

  async #applyToThread(
    number: bigint,
    thread: ThreadRecord,
    now: number,
    dryRun: boolean,
    report: RetentionReport,
  ): Promise<void> {
    const ttl = this.#ttlSeconds(thread);
    const cutoffMs = ttl === undefined ? undefined : BigInt(now - ttl * 1000);
    const cap = this.#policies.maxVersions;
    if (cutoffMs === undefined && cap === undefined) return;

    const expired = new Map<bigint, string>();
    const capped: CappedMessage[] = [];
    let trimmable = 0n;
    let gte = keys.threadRange(number).gte;
    const { lt } = keys.threadRange(number);
    scan: for (;;) {
      const rows = this.#store.scan(Family.tails, { gte, lt, limit: SCAN_PAGE });
      for (const row of rows) {
        const message = records.messageView.decode(row.value).message;
        if (!message) continue;
        if (cutoffMs !== undefined && message.createdAtMs < cutoffMs) {
          expired.set(message.seq, message.id);
        } else if (cap === undefined) {
          // Messages are in creation order: the first one kept ends the TTL's work.
          break scan;
        } else if (message.version > cap) {
          const upTo = message.version - cap;
          const versions = this.#trimmableVersions(number, message.seq, upTo);
          if (versions > 0) {
            capped.push({ seq: message.seq, id: message.id, upTo });
            trimmable += BigInt(versions);
          }
        }
      }
      const last = rows[rows.length - 1];
      if (rows.length < SCAN_PAGE || !last) break;
      gte = Buffer.concat([last.key, Buffer.from([0])]);
      await this.#pace();
    }
    if (expired.size === 0 && capped.length === 0) return;
    if (dryRun) {
      report.messagesPurged += BigInt(expired.size);
      report.versionsPurged += trimmable;
      return;
    }

    const refs = await this.#eventRefs(number, thread.revision, expired, capped);
    const size = this.#policies.batchSize;
    const expiredSeqs = [...expired.keys()];
    for (let i = 0; i < expiredSeqs.length && !this.#stopping; i += size) {
      const batch = expiredSeqs.slice(i, i + size);
      report.messagesPurged += await this.#log.runJob((tx) =>
        removeMessages(tx, number, batch, refs, this.#now()),
      );
    }
    for (let i = 0; i < capped.length && !this.#stopping; i += size) {
      const batch = capped.slice(i, i + size);
      report.versionsPurged += await this.#log.runJob((tx) =>
        trimVersions(tx, number, batch, refs, this.#now()),
      );
    }
    this.#log.reader.forgetThread(number);
  }

  /** How many of versions 1..`upTo` of a message still have their `versions` row. */
  #trimmableVersions(number: bigint, seq: bigint, upTo: number): number {
    // The cap trims from version 1 up: if version `upTo` is gone, so is every one below it.
    if (!this.#store.get(Family.versions, keys.versionKey(number, seq, upTo))) return 0;
    const range = keys.versionRange(number, seq);
    return this.#store.scan(Family.versions, {
      gte: range.gte,
      lt: keys.versionKey(number, seq, upTo + 1),
    }).length;
  }

  /** One pass over the thread's events, collecting those about the messages removed or trimmed. */
  async #eventRefs(
    number: bigint,
    head: bigint,
    expired: ReadonlyMap<bigint, string>,
    capped: readonly CappedMessage[],
  ): Promise<EventRefs> {
    const refs: EventRefs = {
      expired,
      caps: new Map(capped.map((message) => [message.seq, message.upTo])),
      all: new Map(),
      capped: new Map(),
      head,
    };
    let gte = keys.threadRange(number).gte;
    const lt = keys.eventKey(number, head + 1n);
    for (;;) {
      const rows = this.#store.scan(Family.events, { gte, lt, limit: SCAN_PAGE });
      for (const row of rows) noteEvent(refs, records.event.decode(row.value));
      const last = rows[rows.length - 1];
      if (rows.length < SCAN_PAGE || !last) return refs;
      gte = Buffer.concat([last.key, Buffer.from([0])]);
      await this.#pace();
    }
  }
}

/** The seq and version an event is about, if it is about a message. */
function messageOf(
  event: EventRecord,
): { seq: bigint; version?: number; pruned?: boolean } | undefined {
  const payload = event.payload;
  switch (payload?.$case) {
    case 'messageCreated':
    case 'messageEdited':
    case 'messageDeleted':
      return payload.value;
    case 'reactionAdded':
    case 'reactionRemoved':
      return { seq: payload.value.seq };
    default:
      return undefined;
  }
}

function noteEvent(refs: EventRefs, event: EventRecord): void {
  const about = messageOf(event);
  if (!about) return;
  if (refs.expired.has(about.seq)) push(refs.all, about.seq, event.revision);
  const upTo = refs.caps.get(about.seq);
  if (upTo !== undefined && about.version !== undefined && about.version <= upTo && !about.pruned) {
    push(refs.capped, about.seq, event.revision);
  }
}

function push(map: Map<bigint, bigint[]>, seq: bigint, revision: bigint): void {
  const list = map.get(seq);
  if (list) list.push(revision);
  else map.set(seq, [revision]);
}

/** Opens the thread for a retention job, noting events written since the scan. */
function openForJob(tx: LogTransaction, number: bigint, refs: EventRefs): ThreadRecord | undefined {
  const bytes = tx.get(Family.threads, keys.threadKey(number));
  if (!bytes) return undefined;
  const record = records.thread.decode(bytes);
  if (record.deleted) return undefined;
  for (let revision = refs.head + 1n; revision <= record.revision; revision++) {
    const event = tx.get(Family.events, keys.eventKey(number, revision));
    if (event) noteEvent(refs, records.event.decode(event));
  }
  refs.head = record.revision;
  return record;
}

/**
 * Removes whole messages (TTL) in one job: their events and position rows, versions, scroll-back
 * row, id index, request results and counts; then appends the audit event.
 * @returns how many messages were removed.
 */
function removeMessages(
  tx: LogTransaction,
  number: bigint,
  seqs: readonly bigint[],
  refs: EventRefs,
  nowMs: number,
): bigint {
  const record = openForJob(tx, number, refs);
  if (!record) return 0n;
  const state = openThreadState(number, record);
  const removedIds: string[] = [];
  const removedSeqs = new Set<bigint>();
  const requests = new Set<string>();
  let events = 0n;
  let messages = 0n;
  let deletedMessages = 0n;
  for (const seq of seqs) {
    const view = readView(tx, number, seq);
    if (!view?.message) continue;
    for (const revision of refs.all.get(seq) ?? []) {
      const key = keys.eventKey(number, revision);
      const bytes = tx.get(Family.events, key);
      if (!bytes) continue;
      const event = records.event.decode(bytes);
      tx.del(Family.events, key);
      tx.del(Family.indexes, keys.positionIndexKey(event.position));
      if (event.requestId) requests.add(event.requestId);
      events++;
      if (event.payload?.$case === 'messageCreated') messages++;
      if (event.payload?.$case === 'messageDeleted') deletedMessages++;
    }
    const versions = keys.versionRange(number, seq);
    for (const row of tx.scan(Family.versions, versions)) tx.del(Family.versions, row.key);
    tx.del(Family.tails, keys.tailKey(number, seq));
    tx.del(Family.indexes, keys.messageIdIndexKey(number, view.message.id));
    if (!view.message.deleted) {
      state.record.messageCount -= 1n;
      if (view.message.replyToId) adjustReplyCount(tx, number, view.message.replyToId, -1);
    }
    removedIds.push(view.message.id);
    removedSeqs.add(seq);
  }
  if (removedIds.length === 0) return 0n;
  for (const requestId of requests) narrowRequest(tx, number, requestId);
  bumpCounter(tx, Counter.events, -events);
  bumpCounter(tx, Counter.messages, -messages);
  bumpCounter(tx, Counter.deletedMessages, -deletedMessages);
  const last = state.record.lastMessage;
  if (last && removedSeqs.has(last.seq)) {
    state.record.lastMessage = newestLiveMessage(tx, number, state.record.revision + 1n);
  }
  appendAudit(tx, state, nowMs, {
    policy: Policy.messageTtl,
    messageIds: removedIds,
    versionsRemoved: 0,
  });
  return BigInt(removedIds.length);
}

/**
 * A request's result names its first and last revision; once some of its events are gone it names
 * the ones left (its events are consecutive), or nothing: as a rebuild from `events` would.
 */
function narrowRequest(tx: LogTransaction, number: bigint, requestId: string): void {
  const key = keys.requestIdIndexKey(number, requestId);
  const bytes = tx.get(Family.indexes, key);
  if (!bytes) return;
  const { firstRevision, lastRevision } = records.request.decode(bytes);
  let first: bigint | undefined;
  let last: bigint | undefined;
  for (let revision = firstRevision; revision <= lastRevision; revision++) {
    if (!tx.get(Family.events, keys.eventKey(number, revision))) continue;
    first ??= revision;
    last = revision;
  }
  if (first === undefined || last === undefined) tx.del(Family.indexes, key);
  else
    tx.put(
      Family.indexes,
      key,
      records.request.encode({ firstRevision: first, lastRevision: last }),
    );
}

/**
 * Trims old versions (version cap) in one job: each trimmed version's `versions` row goes and its
 * event keeps only the message's identity (body and metadata gone, `pruned` set).
 * @returns how many versions were trimmed.
 */
function trimVersions(
  tx: LogTransaction,
  number: bigint,
  messages: readonly CappedMessage[],
  refs: EventRefs,
  nowMs: number,
): bigint {
  const record = openForJob(tx, number, refs);
  if (!record) return 0n;
  const trimmedIds: string[] = [];
  let versions = 0;
  for (const { seq, id } of messages) {
    let trimmed = 0;
    for (const revision of refs.capped.get(seq) ?? []) {
      const key = keys.eventKey(number, revision);
      const bytes = tx.get(Family.events, key);
      if (!bytes) continue;
      const event = records.event.decode(bytes);
      const payload = event.payload;
      if (
        payload?.$case !== 'messageCreated' &&
        payload?.$case !== 'messageEdited' &&
        payload?.$case !== 'messageDeleted'
      ) {
        continue;
      }
      if (payload.value.pruned) continue;
      const stripped: MessageRecord = {
        ...payload.value,
        body: Buffer.alloc(0),
        metadata: {},
        pruned: true,
      };
      tx.put(
        Family.events,
        key,
        records.event.encode({ ...event, payload: { $case: payload.$case, value: stripped } }),
      );
      tx.del(Family.versions, keys.versionKey(number, seq, stripped.version));
      trimmed++;
    }
    if (trimmed > 0) {
      trimmedIds.push(id);
      versions += trimmed;
    }
  }
  if (versions === 0) return 0n;
  appendAudit(tx, openThreadState(number, record), nowMs, {
    policy: Policy.maxVersions,
    messageIds: trimmedIds,
    versionsRemoved: versions,
  });
  return BigInt(versions);
}

/** Appends the `messages_purged` audit event, folds it, and publishes it to the tails. */
function appendAudit(
  tx: LogTransaction,
  state: ReturnType<typeof openThreadState>,
  nowMs: number,
  value: { policy: string; messageIds: string[]; versionsRemoved: number },
): void {
  const event: EventRecord = {
    threadId: state.record.id,
    revision: state.record.revision + 1n,
    position: tx.nextPosition(),
    timeMs: BigInt(nowMs),
    actorId: '',
    requestId: '',
    payload: { $case: 'messagesPurged', value },
  };
  tx.put(Family.events, keys.eventKey(state.number, event.revision), records.event.encode(event));
  projectEvent(state, event, tx);
  finishThread(state, tx);
  tx.publish({ thread: state.number, event, members: state.record.memberIds });
}
