import type { Event, Message } from '../../sdk/src/index.js';
import { bodyText, isoTime } from './output.js';

/** Column widths of message lines, fixed up front so that lines printed over time stay aligned. */
export interface MessageColumns {
  readonly seqWidth: number;
  readonly authorWidth: number;
}

/** Widths for a thread whose head is `revision`, from the messages at hand. */
export function columnsFor(revision: bigint, messages: readonly Message[] = []): MessageColumns {
  const authors = messages.map((m) => authorOf(m).length);
  return {
    seqWidth: Math.max(3, String(revision).length),
    authorWidth: Math.min(20, Math.max(8, ...authors)),
  };
}

function authorOf(message: Message): string {
  const author = message.authorId === '' ? '(service)' : message.authorId;
  return message.role === '' ? author : `${author} (${message.role})`;
}

/** One message on one line: `  12  2026-11-28 00:12:03Z  alice (user)  Hello there`. */
export function messageLine(message: Message, columns: MessageColumns): string {
  const flags: string[] = [];
  if (message.deleted) flags.push('(deleted)');
  else if (message.version > 1) flags.push('(edited)');
  const body = message.deleted ? '' : bodyText(message.body);
  return [
    String(message.seq).padStart(columns.seqWidth),
    isoTime(message.createdAt),
    authorOf(message).padEnd(columns.authorWidth),
    [...flags, body].filter((part) => part !== '').join(' '),
  ]
    .join('  ')
    .trimEnd();
}

/** The header of message lines. */
export function messageHeader(columns: MessageColumns): string {
  return [
    'SEQ'.padStart(columns.seqWidth),
    'TIME'.padEnd(20),
    'AUTHOR'.padEnd(columns.authorWidth),
    'BODY',
  ].join('  ');
}

/** One event of a tail on one line: messages as {@link messageLine}, other events described. */
export function eventLine(event: Event, columns: MessageColumns): string {
  const payload = event.payload;
  const at = (text: string): string =>
    [String(event.revision).padStart(columns.seqWidth), isoTime(event.time), text].join('  ');
  const actor = event.actorId === '' ? '(service)' : event.actorId;
  switch (payload?.$case) {
    case 'messageCreated':
      return payload.value.message === undefined
        ? at(`${actor} appended a message`)
        : messageLine(payload.value.message, columns);
    case 'messageEdited':
      return at(
        `${actor} edited #${messageSeq(payload.value.message)}: ${bodyText(payload.value.message?.body)}`,
      );
    case 'messageDeleted':
      return at(`${actor} deleted #${messageSeq(payload.value.message)}`);
    case 'reactionAdded':
      return at(`${actor} reacted ${payload.value.reaction} to #${payload.value.seq}`);
    case 'reactionRemoved':
      return at(`${actor} removed reaction ${payload.value.reaction} from #${payload.value.seq}`);
    case 'threadCreated':
      return at(
        `${actor} created the thread${payload.value.title === '' ? '' : ` “${payload.value.title}”`}`,
      );
    case 'threadUpdated':
      return at(`${actor} updated the thread`);
    case 'threadDeleted':
      return at(`${actor} deleted the thread`);
    case 'membersAdded':
      return at(`${actor} added ${payload.value.userIds.join(', ')}`);
    case 'membersRemoved':
      return at(`${actor} removed ${payload.value.userIds.join(', ')}`);
    default:
      return at('(an event of a kind this CLI does not know)');
  }
}

function messageSeq(message: Message | undefined): string {
  return message === undefined ? '?' : String(message.seq);
}
