import * as grpc from '@grpc/grpc-js';
import * as http2 from 'node:http2';
import type { ClientKind } from './worker-protocol.js';

/** The outcome of a failed call. */
export interface CallFailure {
  code: number;
  message: string;
}

/** Completes a call: a failure, or the encoded response. */
export type CallDone = (failure: CallFailure | undefined, response: Buffer | undefined) => void;

/**
 * One connection that sends pre-encoded unary requests and hands back encoded responses, without
 * protobuf work on either side: load worker ⇄ transport ⇄ HTTP/2 ⇄ server.
 */
export interface UnaryTransport {
  call(path: string, request: Buffer, done: CallDone): void;
  close(): void;
}

/** Call metadata as plain headers. */
export interface CallHeaders {
  authorization: string;
  'x-user-id': string;
}

/** Opens one connection of the given kind and waits until it is ready. */
export async function connectTransport(
  kind: ClientKind,
  address: string,
  headers: CallHeaders,
  connectionId: string,
): Promise<UnaryTransport> {
  return kind === 'grpc-js'
    ? connectGrpcJs(address, headers, connectionId)
    : connectHttp2(address, headers);
}

const identity = (value: Buffer): Buffer => value;

async function connectGrpcJs(
  address: string,
  headers: CallHeaders,
  connectionId: string,
): Promise<UnaryTransport> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), {
    // A channel of its own and a unique option: grpc-js would otherwise share one subchannel.
    'grpc.use_local_subchannel_pool': 1,
    'grpc.bench_connection_id': connectionId,
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
  });
  await new Promise<void>((resolve, reject) => {
    client.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve()));
  });
  const metadata = new grpc.Metadata();
  metadata.set('authorization', headers.authorization);
  metadata.set('x-user-id', headers['x-user-id']);
  return {
    call(path, request, done) {
      client.makeUnaryRequest(path, identity, identity, request, metadata, (err, response) => {
        if (err) done({ code: err.code, message: err.details }, undefined);
        else done(undefined, response);
      });
    },
    close: () => client.close(),
  };
}

async function connectHttp2(address: string, headers: CallHeaders): Promise<UnaryTransport> {
  const session = http2.connect(`http://${address}`);
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  session.on('error', () => undefined);
  const baseHeaders = {
    ':method': 'POST',
    'content-type': 'application/grpc',
    te: 'trailers',
    ...headers,
  };
  return {
    call(path, request, done) {
      const frameHeader = Buffer.allocUnsafe(5);
      frameHeader.writeUInt8(0, 0);
      frameHeader.writeUInt32BE(request.length, 1);
      const stream = session.request({ ...baseHeaders, ':path': path });
      const chunks: Buffer[] = [];
      let status: string | undefined;
      let message = '';
      let settled = false;
      const settle = (failure: CallFailure | undefined): void => {
        if (settled) return;
        settled = true;
        if (failure) done(failure, undefined);
        else done(undefined, Buffer.concat(chunks).subarray(5));
      };
      stream.on('response', readStatus);
      stream.on('trailers', readStatus);
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (err: Error) =>
        settle({ code: grpc.status.UNAVAILABLE, message: err.message }),
      );
      stream.on('close', () => {
        if (status === '0') settle(undefined);
        else settle({ code: Number(status ?? grpc.status.UNKNOWN), message });
      });
      stream.write(frameHeader);
      stream.end(request);

      function readStatus(h: http2.IncomingHttpHeaders): void {
        const value = h['grpc-status'];
        if (typeof value === 'string') status = value;
        const text = h['grpc-message'];
        if (typeof text === 'string') message = decodeURIComponent(text);
      }
    },
    close: () => session.close(),
  };
}
