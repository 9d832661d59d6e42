/**
 * The streaming baseline: a bare grpc-js server with ProgressDB's `AppendMessage` and `TailThread`
 * paths and nothing behind them. An append is decoded, turned into one `message_created` event frame
 * (encoded once) and written to every open tail of its thread; a tail with `after_revision` first
 * gets `BENCH_ECHO_REPLAY_EVENTS` copies of a stored event frame (honouring back-pressure), then
 * `caught_up`. What grpc-js streaming itself can do on this machine, for the tail scenarios.
 * Runs as its own process (`node --import tsx bench/stream-echo-server.ts`); reports its address on
 * the IPC channel.
 */
import * as grpc from '@grpc/grpc-js';
import {
  AppendMessageRequest,
  AppendMessageResponse,
} from '../src/gen/progressdb/v1/message_service.js';
import { TailThreadRequest, TailThreadResponse } from '../src/gen/progressdb/v1/tail_service.js';
import type { Message } from '../src/gen/progressdb/v1/types.js';
import { makeBody } from './request-payloads.js';

const REPLAY_EVENTS = Number(process.env.BENCH_ECHO_REPLAY_EVENTS ?? 0);

type Tail = grpc.ServerWritableStream<TailThreadRequest, Buffer>;
const tailsByThread = new Map<string, Set<Tail>>();
const heads = new Map<string, bigint>();
let position = 0n;

const pass = (value: Buffer): Buffer => value;

function message(threadId: string, seq: bigint, request: Partial<AppendMessageRequest>): Message {
  const now = new Date();
  return {
    id: request.messageId || `m-${seq}`,
    threadId,
    seq,
    version: 1,
    authorId: 'bench-user',
    role: request.role ?? 'user',
    body: request.body as unknown,
    metadata: {},
    replyToId: '',
    replyCount: 0,
    reactions: [],
    deleted: false,
    createdAt: now,
    updatedAt: now,
  };
}

function eventFrame(threadId: string, revision: bigint, msg: Message): Buffer {
  return Buffer.from(
    TailThreadResponse.encode({
      frame: {
        $case: 'event',
        value: {
          threadId,
          revision,
          position: ++position,
          time: new Date(),
          actorId: 'bench-user',
          requestId: '',
          payload: { $case: 'messageCreated', value: { message: msg } },
        },
      },
    }).finish(),
  );
}

const STORED_FRAME = eventFrame(
  'bench-replay',
  1n,
  message('bench-replay', 1n, { body: makeBody(300) }),
);

function caughtUp(revision: bigint): Buffer {
  return Buffer.from(
    TailThreadResponse.encode({
      frame: { $case: 'caughtUp', value: { revision, position } },
    }).finish(),
  );
}

async function replay(call: Tail, count: number): Promise<boolean> {
  for (let i = 0; i < count; i++) {
    if (call.cancelled) return false;
    if (!call.write(STORED_FRAME)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          call.off('drain', done);
          call.off('cancelled', done);
          resolve();
        };
        call.on('drain', done);
        call.on('cancelled', done);
      });
    }
  }
  return !call.cancelled;
}

const server = new grpc.Server();
server.addService(
  {
    appendMessage: {
      path: '/progressdb.v1.MessageService/AppendMessage',
      requestStream: false,
      responseStream: false,
      requestSerialize: (value: AppendMessageRequest) =>
        Buffer.from(AppendMessageRequest.encode(value).finish()),
      requestDeserialize: (bytes: Buffer) => AppendMessageRequest.decode(bytes),
      responseSerialize: (value: AppendMessageResponse) =>
        Buffer.from(AppendMessageResponse.encode(value).finish()),
      responseDeserialize: (bytes: Buffer) => AppendMessageResponse.decode(bytes),
    },
    tailThread: {
      path: '/progressdb.v1.TailService/TailThread',
      requestStream: false,
      responseStream: true,
      requestSerialize: (value: TailThreadRequest) =>
        Buffer.from(TailThreadRequest.encode(value).finish()),
      requestDeserialize: (bytes: Buffer) => TailThreadRequest.decode(bytes),
      responseSerialize: pass,
      responseDeserialize: pass,
    },
  },
  {
    appendMessage: (
      call: grpc.ServerUnaryCall<AppendMessageRequest, AppendMessageResponse>,
      callback: grpc.sendUnaryData<AppendMessageResponse>,
    ) => {
      const { threadId } = call.request;
      const revision = (heads.get(threadId) ?? 1n) + 1n;
      heads.set(threadId, revision);
      const msg = message(threadId, revision, call.request);
      const tails = tailsByThread.get(threadId);
      if (tails && tails.size > 0) {
        const frame = eventFrame(threadId, revision, msg);
        for (const tail of tails) tail.write(frame);
      }
      callback(null, { message: { ...msg, body: undefined }, revision });
    },
    tailThread: (call: Tail) => {
      const { threadId, afterRevision } = call.request;
      const register = (): void => {
        let tails = tailsByThread.get(threadId);
        if (!tails) tailsByThread.set(threadId, (tails = new Set()));
        tails.add(call);
        call.on('cancelled', () => tails.delete(call));
        call.write(caughtUp(heads.get(threadId) ?? 1n));
      };
      if (afterRevision === undefined) register();
      else void replay(call, REPLAY_EVENTS).then((open) => open && register());
    },
  },
);

server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    console.error(`stream echo server: ${err.message}`);
    process.exit(1);
  }
  const address = `127.0.0.1:${port}`;
  if (process.send) process.send({ type: 'listening', address });
  else console.log(`stream echo server listening on ${address}`);
});

function shutdown(): void {
  server.forceShutdown();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.on('disconnect', shutdown);
