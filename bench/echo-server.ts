/**
 * The baseline: a bare grpc-js server that serves `/progressdb.v1.MessageService/AppendMessage` and
 * answers every call with one fixed small `AppendMessageResponse` (it decodes the request and encodes
 * the response, nothing else). What grpc-js itself can do on this machine, to compare ProgressDB to.
 * Runs as its own process: `node --import tsx bench/echo-server.ts`; it reports its address on the
 * IPC channel when there is one, and on stdout.
 */
import * as grpc from '@grpc/grpc-js';
import {
  type AppendMessageRequest,
  type AppendMessageResponse,
  MessageServiceService,
} from '../src/gen/progressdb/v1/message_service.js';

const FIXED_RESPONSE: AppendMessageResponse = {
  message: {
    id: 'm-echo',
    threadId: 't-echo',
    seq: 2n,
    version: 1,
    authorId: 'u-echo',
    role: 'user',
    body: { text: 'ok' },
    metadata: {},
    replyToId: '',
    replyCount: 0,
    reactions: [],
    deleted: false,
    createdAt: new Date(0),
    updatedAt: new Date(0),
  },
  revision: 2n,
};

const server = new grpc.Server();
server.addService(
  { appendMessage: MessageServiceService.appendMessage },
  {
    appendMessage: (
      _call: grpc.ServerUnaryCall<AppendMessageRequest, AppendMessageResponse>,
      callback: grpc.sendUnaryData<AppendMessageResponse>,
    ) => callback(null, FIXED_RESPONSE),
  },
);

server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    console.error(`echo server: ${err.message}`);
    process.exit(1);
  }
  const address = `127.0.0.1:${port}`;
  if (process.send) process.send({ type: 'listening', address });
  else console.log(`echo server listening on ${address}`);
});

function shutdown(): void {
  server.tryShutdown(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.on('disconnect', shutdown);
