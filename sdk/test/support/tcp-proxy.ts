import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';

/** A TCP proxy in front of a server, that can cut connections the way a network does. */
export interface TcpProxy {
  /** `127.0.0.1:port` of the proxy. */
  readonly address: string;
  /** How many connections the proxy has accepted. */
  readonly connections: number;
  /** Destroys every open connection at once (both sides see a dropped connection). */
  dropConnections(): void;
  /**
   * Arms the proxy: the next HTTP/2 HEADERS frame the server sends on a stream (the start of an
   * answer, which for a unary call means the server has done the work) is not delivered; the
   * connection is cut instead. Resolves when that happened.
   */
  dropNextAnswer(): Promise<void>;
  close(): Promise<void>;
}

const FRAME_HEADER_BYTES = 9;
const HEADERS_FRAME = 0x1;

/** Starts a proxy on 127.0.0.1:0 forwarding to `target` (`host:port`). */
export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const separator = target.lastIndexOf(':');
  const host = target.slice(0, separator);
  const port = Number(target.slice(separator + 1));
  const sockets = new Set<Socket>();
  let accepted = 0;
  let armed: (() => void) | undefined;

  const server = createServer((client) => {
    accepted++;
    const upstream = connect(port, host);
    sockets.add(client).add(upstream);
    const cut = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', () => sockets.delete(client) && upstream.destroy());
    upstream.on('close', () => sockets.delete(upstream) && client.destroy());
    client.on('error', cut);
    upstream.on('error', cut);
    client.pipe(upstream);

    // Server to client: forwarded frame by frame (the server's preface is a frame like any
    // other), so that an answer can be withheld.
    let pending = Buffer.alloc(0);
    upstream.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= FRAME_HEADER_BYTES) {
        const length = pending.readUIntBE(0, 3);
        const size = FRAME_HEADER_BYTES + length;
        if (pending.length < size) break;
        const frame = pending.subarray(0, size);
        pending = pending.subarray(size);
        const type = frame[3];
        const streamId = frame.readUInt32BE(5) & 0x7fffffff;
        if (armed !== undefined && type === HEADERS_FRAME && streamId !== 0) {
          const done = armed;
          armed = undefined;
          cut();
          done();
          return;
        }
        client.write(frame);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port: proxyPort } = server.address() as AddressInfo;

  return {
    address: `127.0.0.1:${proxyPort}`,
    get connections() {
      return accepted;
    },
    dropConnections() {
      for (const socket of sockets) socket.destroy();
    },
    dropNextAnswer() {
      return new Promise((resolve) => {
        armed = resolve;
      });
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** A TCP port that was free a moment ago (bound to 0, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}
