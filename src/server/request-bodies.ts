import type { ServiceDefinition } from '@grpc/grpc-js';
import { invalidField } from '../log/index.js';

/**
 * Message bodies as they came on the wire: the encoded `google.protobuf.Value` of each body, taken
 * from the request bytes while the generated decoder builds the request object. Stored as they
 * are, they go back to readers as they are (see wire-encoding.ts), never re-encoded.
 */

const RAW_BODIES = Symbol('raw bodies');

interface WithRawBodies {
  [RAW_BODIES]?: Buffer[];
}

/** Where the bodies are in a request: a path of length-delimited field numbers. */
const BODY_PATHS: Readonly<Record<string, readonly number[]>> = {
  appendMessage: [6],
  appendMessages: [2, 4],
  editMessage: [3],
};

function readVarint(bytes: Buffer, offset: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  for (let i = offset; i < bytes.length && shift < 64; i++) {
    const byte = bytes[i] as number;
    if (shift < 28) value |= (byte & 0x7f) << shift;
    else value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if ((byte & 0x80) === 0) return [value, i + 1];
  }
  throw new RangeError('truncated varint');
}

/** Every occurrence of length-delimited field `field` at the top level of `bytes`, in order. */
function fields(bytes: Buffer, field: number): Buffer[] {
  const found: Buffer[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const [key, afterKey] = readVarint(bytes, offset);
    const wireType = key & 7;
    offset = afterKey;
    if (wireType === 0) offset = readVarint(bytes, offset)[1];
    else if (wireType === 1) offset += 8;
    else if (wireType === 5) offset += 4;
    else if (wireType === 2) {
      const [length, start] = readVarint(bytes, offset);
      offset = start + length;
      if (offset > bytes.length) throw new RangeError('truncated field');
      if (key >>> 3 === field) found.push(bytes.subarray(start, offset));
    } else throw new RangeError(`unsupported wire type ${wireType}`);
  }
  return found;
}

function bodiesAt(bytes: Buffer, path: readonly number[]): Buffer[] {
  const [first, second] = path;
  if (first === undefined) return [];
  if (second === undefined) {
    // A singular message field that occurs twice: the last one is the field (as decoders do).
    const last = fields(bytes, first).at(-1);
    return [last ? Buffer.from(last) : Buffer.alloc(0)];
  }
  return fields(bytes, first).map((item) => bodiesAt(item, [second])[0] ?? Buffer.alloc(0));
}

/** Wraps the request decoders of the methods that carry bodies to keep the bodies' bytes. */
export function captureBodies<S extends ServiceDefinition>(service: S): S {
  const wrapped: Record<string, unknown> = { ...service };
  for (const [name, path] of Object.entries(BODY_PATHS)) {
    const method = service[name];
    if (!method) continue;
    wrapped[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer): unknown => {
        const request = method.requestDeserialize(bytes) as WithRawBodies;
        request[RAW_BODIES] = bodiesAt(bytes, path);
        return request;
      },
    };
  }
  return wrapped as S;
}

/** The encoded body of message `index` of a request decoded through `captureBodies`. */
export function rawBody(request: object, index = 0): Buffer {
  const body = (request as WithRawBodies)[RAW_BODIES]?.[index];
  if (!body) throw invalidField('body', 'could not be read from the request');
  return body;
}
