import type { BinaryWriter } from '@bufbuild/protobuf/wire';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { Event, Message, Thread } from '../gen/progressdb/v1/types.js';
import { ReusableWriter } from '../log/index.js';

/**
 * Response encoding that splices stored message bodies into the wire as they are. Bodies are kept
 * as encoded `google.protobuf.Value`s, the wire form of `Message.body`, so a read never parses,
 * rebuilds or re-encodes a body: the rest of each message goes through the generated encoder and
 * the body bytes are appended as field 7 (protobuf fields may come in any order).
 */

/** A response already encoded: its bytes go to the wire as they are. */
export class EncodedResponse {
  constructor(readonly bytes: Buffer) {}
}

/** Lets every method of `service` answer with an `EncodedResponse` as well as a response object. */
export function acceptEncoded<S extends ServiceDefinition>(service: S): S {
  const wrapped: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(service)) {
    wrapped[name] = {
      ...method,
      responseSerialize: (value: unknown): Buffer =>
        value instanceof EncodedResponse ? value.bytes : method.responseSerialize(value),
    };
  }
  return wrapped as S;
}

/** A message for the wire: every field but the body, and the body as an encoded Value. */
export interface MessageOut {
  message: Message;
  body: Buffer;
}

/** A thread for the wire, with its last message's body spliced like any message's. */
export interface ThreadOut {
  thread: Thread;
  lastMessage: MessageOut | undefined;
}

/** An event for the wire; message events carry their message (and its body) separately. */
export interface EventOut {
  event: Event;
  message: { field: 15 | 16 | 17; out: MessageOut } | undefined;
}

const LENGTH_DELIMITED = 2;
const tag = (field: number): number => (field << 3) | LENGTH_DELIMITED;

function nested(writer: BinaryWriter, field: number, write: (writer: BinaryWriter) => void): void {
  writer.uint32(tag(field)).fork();
  write(writer);
  writer.join();
}

/** Writes a message's fields (its body spliced as field 7). */
export function writeMessage(writer: BinaryWriter, out: MessageOut): void {
  Message.encode(out.message, writer);
  if (out.body.length > 0) writer.uint32(tag(7)).bytes(out.body);
}

/** Writes a thread's fields (its last message as field 11). */
export function writeThread(writer: BinaryWriter, out: ThreadOut): void {
  Thread.encode(out.thread, writer);
  const last = out.lastMessage;
  if (last) nested(writer, 11, (w) => writeMessage(w, last));
}

/** Writes an event's fields (a message payload as field 15, 16 or 17). */
export function writeEvent(writer: BinaryWriter, out: EventOut): void {
  Event.encode(out.event, writer);
  const payload = out.message;
  if (payload)
    nested(writer, payload.field, (w) => nested(w, 1, (m) => writeMessage(m, payload.out)));
}

/** The writer every response is encoded with. */
const responseWriter = new ReusableWriter();

/** Encodes one response with the shared response writer. */
function encoded(write: (writer: BinaryWriter) => void): EncodedResponse {
  return new EncodedResponse(responseWriter.encode(write));
}

/** Responses whose field 1 is one message (GetMessage, EditMessage, AddReaction, …). */
export function messageResponse(out: MessageOut): EncodedResponse {
  return encoded((writer) => {
    nested(writer, 1, (w) => writeMessage(w, out));
  });
}

/** AppendMessageResponse and AppendMessagesResponse: message(s) in field 1, revision in field 2. */
export function appendResponse(outs: readonly MessageOut[], revision: bigint): EncodedResponse {
  return encoded((writer) => {
    for (const out of outs) nested(writer, 1, (w) => writeMessage(w, out));
    if (revision !== 0n) writer.uint32(16).uint64(revision);
  });
}

/** ListMessageVersionsResponse. */
export function versionsResponse(outs: readonly MessageOut[]): EncodedResponse {
  return appendResponse(outs, 0n);
}

/**
 * The writer of `encodeMessage`: its output is nested in responses the response writer encodes,
 * and kept in the encoded-view cache, so it is not pooled.
 */
const messageWriter = new ReusableWriter({ pooled: false });

/** One message's encoding (a `Message`), to splice into responses with `pageResponse`. */
export function encodeMessage(out: MessageOut): Buffer {
  return messageWriter.encode((writer) => writeMessage(writer, out));
}

/** ListMessagesResponse; a message may come encoded already (`encodeMessage`). */
export function pageResponse(
  outs: readonly (MessageOut | Buffer)[],
  page: { hasMoreBefore: boolean; hasMoreAfter: boolean; threadRevision: bigint },
): EncodedResponse {
  return encoded((writer) => {
    for (const out of outs) {
      if (Buffer.isBuffer(out)) writer.uint32(tag(1)).bytes(out);
      else nested(writer, 1, (w) => writeMessage(w, out));
    }
    if (page.hasMoreBefore) writer.uint32(16).bool(true);
    if (page.hasMoreAfter) writer.uint32(24).bool(true);
    if (page.threadRevision !== 0n) writer.uint32(32).uint64(page.threadRevision);
  });
}

/** Responses whose field 1 is one thread (CreateThread, GetThread, UpdateThread, …). */
export function threadResponse(out: ThreadOut): EncodedResponse {
  return encoded((writer) => {
    nested(writer, 1, (w) => writeThread(w, out));
  });
}

/** ListThreadsResponse. */
export function threadsResponse(
  outs: readonly ThreadOut[],
  nextPageToken: string,
): EncodedResponse {
  return encoded((writer) => {
    for (const out of outs) nested(writer, 1, (w) => writeThread(w, out));
    if (nextPageToken !== '') writer.uint32(tag(2)).string(nextPageToken);
  });
}

/** ReadEventsResponse. */
export function eventsResponse(
  outs: readonly EventOut[],
  hasMore: boolean,
  headRevision: bigint,
): EncodedResponse {
  return encoded((writer) => {
    for (const out of outs) nested(writer, 1, (w) => writeEvent(w, out));
    if (hasMore) writer.uint32(16).bool(true);
    if (headRevision !== 0n) writer.uint32(24).uint64(headRevision);
  });
}

/**
 * The writer of tail frames. A frame waits in every subscriber's mailbox until sent, up to the
 * mailbox's bound in bytes, which counts the frame's own length: unpooled, so that a queued frame
 * holds its own bytes only, not an 8 KiB pool slab.
 */
const frameWriter = new ReusableWriter({ pooled: false });

/** A tail frame carrying one event (TailThread/User/AllResponse share this shape: field 1). */
export function eventFrame(out: EventOut): EncodedResponse {
  return new EncodedResponse(
    frameWriter.encode((writer) => {
      nested(writer, 1, (w) => writeEvent(w, out));
    }),
  );
}
