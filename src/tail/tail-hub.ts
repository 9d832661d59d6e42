import type { ObservableResult } from '@opentelemetry/api';
import type { CommittedEvent, EventRecord } from '../log/index.js';
import { attributeSets, Attr, instruments, observe } from '../telemetry/index.js';
import {
  TailSubscription,
  type Delivery,
  type SubscriberLimits,
  type TailKind,
} from './tail-subscription.js';

/** The kinds of event payloads, as filters name them. */
export type EventKind = NonNullable<EventRecord['payload']>['$case'];

/** What a new subscription follows. */
export type TailTarget =
  | { kind: 'thread'; thread: bigint; member?: string }
  | { kind: 'user'; userId: string }
  | { kind: 'all'; threadIdPrefix: string; eventKinds: ReadonlySet<EventKind> };

/** Options of the hub. */
export interface TailHubOptions<F> extends SubscriberLimits {
  /** Encodes an event's frame; called at most once per event, whatever the number of subscribers. */
  encode: (event: EventRecord) => { frame: F; bytes: number };
  /** Idle time after which a stream is asked to send a heartbeat, in ms. */
  heartbeatMs: number;
}

/** Counters for telemetry. */
export interface TailStats {
  subscribers: Record<TailKind, number>;
  delivered: number;
  dropped: number;
  replayed: number;
}

const KINDS: readonly TailKind[] = ['thread', 'user', 'all'];
const KIND_ATTRIBUTES = attributeSets(Attr.tailKind, KINDS);

interface Registered<F> {
  subscription: TailSubscription<F>;
  target: TailTarget;
}

/**
 * Routes each committed event, once, to the subscribers of its thread, of its thread's members, and
 * of the global feed. Frames are encoded once per event and shared. Slow subscribers are dropped by
 * their own bounded mailbox; nothing here ever waits for a subscriber.
 * Data flow: GroupCommitWriter (after commit) → ThreadLog.onCommit → TailHub → subscriptions.
 */
export class TailHub<F> {
  readonly #options: TailHubOptions<F>;
  readonly #byThread = new Map<bigint, Set<TailSubscription<F>>>();
  readonly #byUser = new Map<string, Set<TailSubscription<F>>>();
  readonly #all = new Map<TailSubscription<F>, Extract<TailTarget, { kind: 'all' }>>();
  readonly #registered = new Map<TailSubscription<F>, Registered<F>>();
  readonly #counts: Record<TailKind, number> = { thread: 0, user: 0, all: 0 };
  readonly #sweep: NodeJS.Timeout;
  #delivered = 0;
  #dropped = 0;
  #replayed = 0;
  #closed = false;
  /** Stops this hub's reporting to the observable instruments (read only when scraped). */
  readonly #unobserve: (() => void)[];

  constructor(options: TailHubOptions<F>) {
    this.#options = options;
    const every = Math.max(10, Math.min(1000, Math.floor(options.heartbeatMs / 2)));
    this.#sweep = setInterval(() => this.#heartbeats(), every);
    this.#sweep.unref();
    this.#unobserve = [
      observe('tailSubscribers', this.#observeSubscribers),
      observe('tailDelivered', this.#observeDelivered),
      observe('tailReplayed', this.#observeReplayed),
    ];
  }

  readonly #observeSubscribers = (result: ObservableResult): void => {
    for (const kind of KINDS) result.observe(this.#counts[kind], KIND_ATTRIBUTES[kind]);
  };

  readonly #observeDelivered = (result: ObservableResult): void => {
    result.observe(this.#delivered);
  };

  readonly #observeReplayed = (result: ObservableResult): void => {
    result.observe(this.#replayed);
  };

  /** Subscribes; live events flow into the subscription from now on. */
  subscribe(target: TailTarget): TailSubscription<F> {
    const subscription = new TailSubscription<F>(target.kind, this.#options);
    if (this.#closed) {
      subscription.end('shutting_down');
      return subscription;
    }
    this.#registered.set(subscription, { subscription, target });
    this.#counts[target.kind]++;
    if (target.kind === 'thread') add(this.#byThread, target.thread, subscription);
    else if (target.kind === 'user') add(this.#byUser, target.userId, subscription);
    else this.#all.set(subscription, target);
    return subscription;
  }

  /** Removes a subscription and everything it held. */
  unsubscribe(subscription: TailSubscription<F>): void {
    const registered = this.#registered.get(subscription);
    if (!registered) return;
    this.#registered.delete(subscription);
    this.#counts[registered.target.kind]--;
    if (subscription.ended === 'too_slow') {
      this.#dropped++;
      instruments.tailDropped.add(1, KIND_ATTRIBUTES[registered.target.kind]);
    }
    const target = registered.target;
    if (target.kind === 'thread') remove(this.#byThread, target.thread, subscription);
    else if (target.kind === 'user') remove(this.#byUser, target.userId, subscription);
    else this.#all.delete(subscription);
    subscription.end('shutting_down');
  }

  /** Routes a committed group of events (in commit order). */
  publish(events: readonly CommittedEvent[]): void {
    for (const committed of events) this.#route(committed);
  }

  #route({ thread, event, members }: CommittedEvent): void {
    // Encoded once, on the first subscriber, and the same delivery queued by every one.
    let delivery: Delivery<F> | undefined;
    const deliver = (subscription: TailSubscription<F>): void => {
      if (!delivery) {
        const { frame, bytes } = this.#options.encode(event);
        delivery = { frame, revision: event.revision, position: event.position, bytes };
      }
      subscription.push(delivery);
      this.#delivered++;
    };
    const removed = event.payload?.$case === 'membersRemoved' ? event.payload.value.userIds : [];
    for (const subscription of this.#byThread.get(thread) ?? []) {
      deliver(subscription);
      if (removed.length === 0) continue;
      const member = (this.#registered.get(subscription)?.target as { member?: string }).member;
      if (member !== undefined && removed.includes(member)) subscription.end('revoked');
    }
    if (this.#byUser.size > 0) {
      const users = new Set(members);
      // A removed member hears of their removal, then nothing more of the thread.
      if (event.payload?.$case === 'membersRemoved') {
        for (const user of event.payload.value.userIds) users.add(user);
      }
      for (const user of users)
        for (const subscription of this.#byUser.get(user) ?? []) deliver(subscription);
    }
    for (const [subscription, target] of this.#all) {
      if (matchesAll(target, event)) deliver(subscription);
    }
  }

  /** Counts events a stream replayed from storage (for the replay-rate metric). */
  countReplayed(events: number): void {
    this.#replayed += events;
  }

  /** Live subscribers by kind, and delivery counters. */
  stats(): TailStats {
    return {
      subscribers: { ...this.#counts },
      delivered: this.#delivered,
      dropped: this.#dropped,
      replayed: this.#replayed,
    };
  }

  /** Ends every subscription as shutting down; new ones end at once. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#sweep);
    for (const stop of this.#unobserve) stop();
    for (const subscription of this.#registered.keys()) subscription.end('shutting_down');
  }

  #heartbeats(): void {
    const idleSince = Date.now() - this.#options.heartbeatMs;
    for (const subscription of this.#registered.keys()) {
      if (subscription.lastSentAt <= idleSince) subscription.requestHeartbeat();
    }
  }
}

/** Whether an event passes a global feed's filters. */
export function matchesAll(
  target: { threadIdPrefix: string; eventKinds: ReadonlySet<EventKind> },
  event: EventRecord,
): boolean {
  if (target.threadIdPrefix !== '' && !event.threadId.startsWith(target.threadIdPrefix))
    return false;
  const kind = event.payload?.$case;
  return target.eventKinds.size === 0 || (kind !== undefined && target.eventKinds.has(kind));
}

function add<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  let set = map.get(key);
  if (!set) {
    set = new Set();
    map.set(key, set);
  }
  set.add(value);
}

function remove<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}
