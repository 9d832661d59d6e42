import type { Client } from 'nice-grpc';
import { rpcPath, type CallRunner } from './call-runner.js';
import { EventType, TailServiceDefinition } from './gen/progressdb/v1/tail_service.js';
import type { Event } from './model-types.js';
import { optionalRevision, type RevisionInput } from './request-values.js';
import {
  ResumableTail,
  type Tail,
  type TailItem,
  type TailOptions,
  type TailSource,
} from './resumable-tail.js';

/** The kinds of events, as `event.payload.$case` names them. */
export type EventKind = NonNullable<Event['payload']>['$case'];

const EVENT_TYPES: Readonly<Record<EventKind, EventType>> = {
  threadCreated: EventType.EVENT_TYPE_THREAD_CREATED,
  threadUpdated: EventType.EVENT_TYPE_THREAD_UPDATED,
  threadDeleted: EventType.EVENT_TYPE_THREAD_DELETED,
  membersAdded: EventType.EVENT_TYPE_MEMBERS_ADDED,
  membersRemoved: EventType.EVENT_TYPE_MEMBERS_REMOVED,
  messageCreated: EventType.EVENT_TYPE_MESSAGE_CREATED,
  messageEdited: EventType.EVENT_TYPE_MESSAGE_EDITED,
  messageDeleted: EventType.EVENT_TYPE_MESSAGE_DELETED,
  reactionAdded: EventType.EVENT_TYPE_REACTION_ADDED,
  reactionRemoved: EventType.EVENT_TYPE_REACTION_REMOVED,
  messagesPurged: EventType.EVENT_TYPE_MESSAGES_PURGED,
};

/** The options of `tail.thread`. */
export interface TailThreadOptions extends TailOptions {
  /** Replay every event after this revision first (0: the whole log). Default: start at the head. */
  readonly afterRevision?: RevisionInput;
}

/** The options of `tail.user`. */
export interface TailUserOptions extends TailOptions {
  /** Whose threads (backend keys only); default: the calling user. */
  readonly userId?: string;
  /** Replay every event after this global position first. Default: start now. */
  readonly afterPosition?: RevisionInput;
}

/** The options of `tail.all`. */
export interface TailAllOptions extends TailOptions {
  /** Replay every event after this global position first. Default: start now. */
  readonly afterPosition?: RevisionInput;
  /** Only threads whose id starts with this. */
  readonly threadIdPrefix?: string;
  /** Only these kinds of events (`'messageCreated'`, … or `EventType` values). Default: all. */
  readonly eventTypes?: readonly (EventKind | EventType)[];
}

/** Asks for {@link TailCaughtUp} markers too. */
type WithMarkers = { readonly caughtUp: true };

/** `client.tail`: live, resumable event streams. */
export interface TailMethods {
  /** Follows one thread, in revision order; `cursor` is the last revision. */
  thread(threadId: string, options: TailThreadOptions & WithMarkers): Tail<TailItem>;
  thread(threadId: string, options?: TailThreadOptions): Tail<Event>;
  /** Follows every thread a user is a member of (an inbox), in position order. */
  user(options: TailUserOptions & WithMarkers): Tail<TailItem>;
  user(options?: TailUserOptions): Tail<Event>;
  /** Follows every thread (backend keys only), in position order, with server-side filters. */
  all(options: TailAllOptions & WithMarkers): Tail<TailItem>;
  all(options?: TailAllOptions): Tail<Event>;
}

/** Builds `client.tail` over a TailService client. */
export function tailMethods(
  client: Client<TailServiceDefinition>,
  runner: CallRunner,
): TailMethods {
  const byRevision = {
    cursorOf: (event: Event) => event.revision,
    markerCursor: (marker: { revision: bigint }) => marker.revision,
  };
  const byPosition = {
    cursorOf: (event: Event) => event.position,
    markerCursor: (marker: { position: bigint }) => marker.position,
  };

  return {
    thread(threadId: string, options: TailThreadOptions = {}): Tail<TailItem> {
      const source: TailSource = {
        method: rpcPath(TailServiceDefinition, 'tailThread'),
        open: (afterRevision, o) => client.tailThread({ threadId, afterRevision }, o),
        ...byRevision,
      };
      const start = optionalRevision(options.afterRevision, 'afterRevision');
      return new ResumableTail(runner, source, start, options);
    },

    user(options: TailUserOptions = {}): Tail<TailItem> {
      const userId = options.userId ?? '';
      const source: TailSource = {
        method: rpcPath(TailServiceDefinition, 'tailUser'),
        open: (afterPosition, o) => client.tailUser({ userId, afterPosition }, o),
        ...byPosition,
      };
      const start = optionalRevision(options.afterPosition, 'afterPosition');
      return new ResumableTail(runner, source, start, options);
    },

    all(options: TailAllOptions = {}): Tail<TailItem> {
      const threadIdPrefix = options.threadIdPrefix ?? '';
      const eventTypes = (options.eventTypes ?? []).map((type) =>
        typeof type === 'string' ? EVENT_TYPES[type] : type,
      );
      const source: TailSource = {
        method: rpcPath(TailServiceDefinition, 'tailAll'),
        open: (afterPosition, o) =>
          client.tailAll({ afterPosition, threadIdPrefix, eventTypes }, o),
        ...byPosition,
      };
      const start = optionalRevision(options.afterPosition, 'afterPosition');
      return new ResumableTail(runner, source, start, options);
    },
  } as TailMethods;
}
