import { ProgressDbError, Reason } from './errors.js';
import type { MessageRecord, ThreadRecord } from './record-codec.js';

/**
 * Who a command or read acts for. `confined` callers (frontend users) reach only threads they are
 * members of, and only change what is theirs; others (backends, services) reach every thread.
 */
export interface Actor {
  userId: string;
  confined?: boolean;
}

/** The user is not a member of the thread. */
export function notAMember(threadId: string): ProgressDbError {
  return new ProgressDbError(Reason.notAMember, `not a member of thread ${threadId}`, {
    thread_id: threadId,
  });
}

/** The caller may not do this (its role, or the thread's ownership rules, forbid it). */
export function roleForbidden(
  what: string,
  metadata: Record<string, string> = {},
): ProgressDbError {
  return new ProgressDbError(Reason.roleForbidden, what, metadata);
}

/**
 * The per-thread access rules, in one place, applied inside the write job (so a removal and a
 * write cannot race) and on every read of a thread.
 */
export const access = {
  /** Reading or writing in a thread: a confined actor must be a member. @throws NOT_A_MEMBER */
  member(actor: Actor, thread: ThreadRecord): void {
    if (actor.confined && !thread.memberIds.includes(actor.userId)) throw notAMember(thread.id);
  },

  /** Renaming, deleting, or adding members: a confined actor must own the thread. @throws NOT_A_MEMBER, ROLE_FORBIDDEN */
  owner(actor: Actor, thread: ThreadRecord): void {
    access.member(actor, thread);
    if (actor.confined && thread.ownerId !== actor.userId) {
      throw roleForbidden('only the thread owner may do this', { thread_id: thread.id });
    }
  },

  /** Removing members: the owner, or a member removing only themselves. */
  removeMembers(actor: Actor, thread: ThreadRecord, userIds: readonly string[]): void {
    access.member(actor, thread);
    const leaving = userIds.every((user) => user === actor.userId);
    if (actor.confined && thread.ownerId !== actor.userId && !leaving) {
      throw roleForbidden('only the thread owner may remove other members', {
        thread_id: thread.id,
      });
    }
  },

  /** Editing or deleting a message: its author or the thread owner. */
  changeMessage(actor: Actor, thread: ThreadRecord, message: MessageRecord): void {
    access.member(actor, thread);
    if (actor.confined && message.authorId !== actor.userId && thread.ownerId !== actor.userId) {
      throw roleForbidden('only the author or the thread owner may change a message', {
        thread_id: thread.id,
        message_id: message.id,
      });
    }
  },
};
