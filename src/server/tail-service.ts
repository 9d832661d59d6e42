import type { TailServiceServer } from '../gen/progressdb/v1/tail_service.js';
import { EventType } from '../gen/progressdb/v1/tail_service.js';
import {
  invalidField,
  ProgressDbError,
  Reason,
  type EventRecord,
  type ThreadLog,
} from '../log/index.js';
import type { EventKind, TailHub } from '../tail/index.js';
import { serverStream, type AdapterDeps } from './call-adapters.js';
import { actorOf, namedUser, requireUser } from './call-context.js';
import { requireId } from './request-validation.js';
import { TailStream } from './tail-stream.js';
import { eventFrame, type EncodedResponse } from './wire-encoding.js';
import { toWireEvent } from './wire-mapping.js';

/** How many events a replay reads from storage at a time. */
const REPLAY_CHUNK = 512;
const PREFIX_PATTERN = /^[A-Za-z0-9._~:@-]{0,128}$/;

const EVENT_KINDS: Readonly<Partial<Record<EventType, EventKind>>> = {
  [EventType.EVENT_TYPE_THREAD_CREATED]: 'threadCreated',
  [EventType.EVENT_TYPE_THREAD_UPDATED]: 'threadUpdated',
  [EventType.EVENT_TYPE_THREAD_DELETED]: 'threadDeleted',
  [EventType.EVENT_TYPE_MEMBERS_ADDED]: 'membersAdded',
  [EventType.EVENT_TYPE_MEMBERS_REMOVED]: 'membersRemoved',
  [EventType.EVENT_TYPE_MESSAGE_CREATED]: 'messageCreated',
  [EventType.EVENT_TYPE_MESSAGE_EDITED]: 'messageEdited',
  [EventType.EVENT_TYPE_MESSAGE_DELETED]: 'messageDeleted',
  [EventType.EVENT_TYPE_REACTION_ADDED]: 'reactionAdded',
  [EventType.EVENT_TYPE_REACTION_REMOVED]: 'reactionRemoved',
  [EventType.EVENT_TYPE_MESSAGES_PURGED]: 'messagesPurged',
};

/** A tail frame for one event: what the hub shares between subscribers, and what replays send. */
export function encodeEventFrame(event: EventRecord): { frame: EncodedResponse; bytes: number } {
  const frame = eventFrame(toWireEvent(event));
  return { frame, bytes: frame.bytes.length };
}

function eventKinds(types: readonly EventType[]): Set<EventKind> {
  const kinds = new Set<EventKind>();
  types.forEach((type, index) => {
    if (type === EventType.EVENT_TYPE_UNSPECIFIED) return;
    const kind = EVENT_KINDS[type];
    if (!kind) throw invalidField(`event_types[${index}]`, 'is not a known event type');
    kinds.add(kind);
  });
  return kinds;
}

/** Whether an event adds or removes `userId`. */
function membershipChange(event: EventRecord, userId: string): 'added' | 'removed' | undefined {
  const payload = event.payload;
  if (payload?.$case === 'membersAdded' && payload.value.userIds.includes(userId)) return 'added';
  if (payload?.$case === 'membersRemoved' && payload.value.userIds.includes(userId))
    return 'removed';
  if (payload?.$case === 'threadCreated' && payload.value.memberIds.includes(userId))
    return 'added';
  return undefined;
}

/**
 * TailService: replay from storage, then `caught_up`, then live events from the hub, exactly once
 * and in order across the switch (the subscription is registered before the replay reads, and
 * what the replay sent is skipped live).
 * Data flow: client ⇄ adapters ⇄ TailStream ⇄ (ThreadReader replay | TailHub live).
 */
export function tailService(
  deps: AdapterDeps,
  log: ThreadLog,
  hub: TailHub<EncodedResponse>,
): TailServiceServer {
  const service = 'TailService';
  return {
    tailThread: serverStream(deps, service, 'TailThread', async (request, context, call) => {
      const threadId = requireId(request.threadId, 'thread_id');
      const { number } = log.reader.thread(threadId, true, actorOf(context));
      // A confined (frontend) user's tail ends as soon as they are removed from the thread.
      const subscription = hub.subscribe({
        kind: 'thread',
        thread: number,
        ...(context.confined ? { member: context.userId } : {}),
      });
      try {
        const stream = new TailStream(call, subscription, hub, {
          key: 'last_revision',
          value: 0n,
        });
        if (request.afterRevision === undefined) {
          stream.cursor.value = log.reader.thread(threadId, true).record.revision;
        } else {
          stream.cursor.value = request.afterRevision;
          for (;;) {
            const events = await log.reader.eventsAfter(
              number,
              threadId,
              stream.cursor.value,
              REPLAY_CHUNK,
            );
            for (const event of events) {
              if (stream.cancelled) return;
              const pending = stream.send(encodeEventFrame(event).frame);
              stream.cursor.value = event.revision;
              if (pending) await pending;
            }
            stream.replayed(events.length);
            if (events.length < REPLAY_CHUNK) break;
          }
        }
        await stream.caughtUp();
        await stream.followLive((delivery) => delivery.revision);
      } finally {
        hub.unsubscribe(subscription);
      }
    }),

    tailUser: serverStream(deps, service, 'TailUser', async (request, context, call) => {
      const userId =
        request.userId === ''
          ? requireUser(context, 'user_id')
          : namedUser(request.userId, 'user_id', context);
      const subscription = hub.subscribe({ kind: 'user', userId });
      try {
        const stream = new TailStream(call, subscription, hub, { key: 'last_position', value: 0n });
        await replayByPosition(log, stream, request.afterPosition, () => {
          const threads = log.reader.userThreadNumbers(userId);
          return (thread, event) => {
            const change = membershipChange(event, userId);
            if (change === 'added') threads.add(thread);
            const concerns = threads.has(thread) || change === 'removed';
            if (change === 'removed') threads.delete(thread);
            return concerns;
          };
        });
        await stream.caughtUp();
        await stream.followLive((delivery) => delivery.position);
      } finally {
        hub.unsubscribe(subscription);
      }
    }),

    tailAll: serverStream(deps, service, 'TailAll', async (request, context, call) => {
      if (context.role !== 'backend') {
        throw new ProgressDbError(Reason.roleForbidden, 'TailAll is for backend keys', {
          role: context.role,
          service,
        });
      }
      if (!PREFIX_PATTERN.test(request.threadIdPrefix)) {
        throw invalidField('thread_id_prefix', 'must be at most 128 characters of thread ids');
      }
      const target = {
        kind: 'all' as const,
        threadIdPrefix: request.threadIdPrefix,
        eventKinds: eventKinds(request.eventTypes),
      };
      const subscription = hub.subscribe(target);
      try {
        const stream = new TailStream(call, subscription, hub, { key: 'last_position', value: 0n });
        await replayByPosition(log, stream, request.afterPosition, () => (_thread, event) => {
          const kind = event.payload?.$case;
          return (
            event.threadId.startsWith(target.threadIdPrefix) &&
            (target.eventKinds.size === 0 || (kind !== undefined && target.eventKinds.has(kind)))
          );
        });
        await stream.caughtUp();
        await stream.followLive((delivery) => delivery.position);
      } finally {
        hub.unsubscribe(subscription);
      }
    }),
  };
}

/**
 * Replays events after `after` in position order through `filter` (built once the subscription
 * exists), moving the stream's cursor over every position read; without `after`, starts at the
 * last committed position.
 */
async function replayByPosition(
  log: ThreadLog,
  stream: TailStream,
  after: bigint | undefined,
  makeFilter: () => (thread: bigint, event: EventRecord) => boolean,
): Promise<void> {
  if (after === undefined) {
    stream.cursor.value = log.position;
    return;
  }
  stream.cursor.value = after;
  const filter = makeFilter();
  for (;;) {
    const page = await log.reader.eventsAfterPosition(stream.cursor.value, REPLAY_CHUNK);
    let sent = 0;
    for (const { thread, event } of page.events) {
      if (stream.cancelled) return;
      if (filter(thread, event)) {
        const pending = stream.send(encodeEventFrame(event).frame);
        stream.cursor.value = event.position;
        sent++;
        if (pending) await pending;
      } else {
        stream.cursor.value = event.position;
      }
    }
    stream.replayed(sent);
    // A page short of events purged meanwhile is not the end: the index says where it is.
    if (!page.more) return;
    stream.cursor.value = page.scannedTo;
  }
}
