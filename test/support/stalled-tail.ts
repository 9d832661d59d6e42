import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { ErrorInfo } from '../../src/gen/google/rpc/error_details.js';
import { Status } from '../../src/gen/google/rpc/status.js';
import { TailThreadRequest, TailThreadResponse } from '../../src/gen/progressdb/v1/tail_service.js';

/** How a raw tail ended. */
export interface RawTailEnd {
  code: number;
  reason: string | undefined;
  metadata: Record<string, string>;
  /** Revisions of the events it received, in order. */
  revisions: bigint[];
}

/**
 * A TailThread call over a bare HTTP/2 stream that stops reading on request: unlike a paused gRPC
 * client, which keeps buffering, it really stops, so HTTP/2 flow control pushes back on the server.
 */
export class StalledTail {
  readonly #session: ClientHttp2Session;
  readonly #stream: ClientHttp2Stream;
  readonly #chunks: Buffer[] = [];
  readonly #ended: Promise<Record<string, string | string[] | undefined>>;

  constructor(
    address: string,
    request: Partial<TailThreadRequest>,
    headers: Record<string, string>,
  ) {
    this.#session = connect(`http://${address}`, { settings: { initialWindowSize: 65_535 } });
    this.#stream = this.#session.request({
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_PATH]: '/progressdb.v1.TailService/TailThread',
      'content-type': 'application/grpc',
      te: 'trailers',
      ...headers,
    });
    const message = Buffer.from(
      TailThreadRequest.encode(TailThreadRequest.fromPartial(request)).finish(),
    );
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1);
    message.copy(frame, 5);
    this.#stream.end(frame);
    this.#stream.on('data', (chunk: Buffer) => this.#chunks.push(chunk));
    this.#ended = new Promise((resolve) => this.#stream.on('trailers', resolve));
  }

  /** Stops reading: the server's writes back up once the flow-control window is full. */
  stall(): void {
    this.#stream.pause();
  }

  /** Reads again and resolves with the stream's end. */
  async finish(): Promise<RawTailEnd> {
    this.#stream.resume();
    const trailers = await this.#ended;
    await new Promise((resolve) => this.#stream.on('close', resolve));
    this.#session.close();
    const details = trailers['grpc-status-details-bin'];
    const info =
      typeof details === 'string'
        ? ErrorInfo.decode(Status.decode(Buffer.from(details, 'base64')).details[0]!.value)
        : undefined;
    return {
      code: Number(trailers['grpc-status']),
      reason: info?.reason,
      metadata: info?.metadata ?? {},
      revisions: this.#frames().flatMap((frame) =>
        frame.frame?.$case === 'event' ? [frame.frame.value.revision] : [],
      ),
    };
  }

  #frames(): TailThreadResponse[] {
    const bytes = Buffer.concat(this.#chunks);
    const frames: TailThreadResponse[] = [];
    for (let offset = 0; offset + 5 <= bytes.length;) {
      const length = bytes.readUInt32BE(offset + 1);
      frames.push(TailThreadResponse.decode(bytes.subarray(offset + 5, offset + 5 + length)));
      offset += 5 + length;
    }
    return frames;
  }
}
