/** The RocksDB column families of DESIGN.md. `events` is the source of truth; the others but `keys`
 * and `default` are projections of it. */
export const Family = {
  /** thread ‖ revision → EventRecord: each thread's append-only log. */
  events: 'events',
  /** thread ‖ seq ‖ version → MessageRecord: every version of every message. */
  versions: 'versions',
  /** thread ‖ seq → MessageViewRecord: the latest view, the scroll-back index. */
  tails: 'tails',
  /** thread → ThreadRecord: the folded thread view and its head revision. */
  threads: 'threads',
  /** Typed prefixes: thread id → number, message id → seq, request id → result, position → event,
   * user → threads by activity. */
  indexes: 'indexes',
  /** thread → wrapped data key (envelope encryption). */
  keys: 'keys',
  /** Schema version and allocation counters. */
  default: 'default',
} as const;

/** The name of a column family. */
export type FamilyName = (typeof Family)[keyof typeof Family];

/** Every family, in a fixed order. */
export const ALL_FAMILIES: readonly FamilyName[] = Object.values(Family);

/** The families recomputed from `events` by a rebuild. */
export const PROJECTION_FAMILIES: readonly FamilyName[] = [
  Family.versions,
  Family.tails,
  Family.threads,
  Family.indexes,
];
