import type { ServiceDefinition } from '@grpc/grpc-js';
import { invalidField } from '../log/index.js';

const UNDECODABLE = Symbol('undecodable request');

/** What a request that failed to decode is replaced with, so the adapter can answer it properly. */
export interface UndecodableRequest {
  readonly [UNDECODABLE]: true;
}

/**
 * Wraps every method's request decoder so that bytes that are not a valid message reach the adapter
 * as a marker, to be answered INVALID_ARGUMENT, instead of grpc-js's INTERNAL "Error deserializing".
 */
export function guardDecoding<S extends ServiceDefinition>(service: S): S {
  const guarded: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(service)) {
    guarded[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer): unknown => {
        try {
          return method.requestDeserialize(bytes);
        } catch {
          return { [UNDECODABLE]: true } satisfies UndecodableRequest;
        }
      },
    };
  }
  return guarded as S;
}

/** @throws INVALID_FIELD `request` when the request could not be decoded. */
export function requireDecoded(request: unknown): void {
  if (typeof request === 'object' && request !== null && UNDECODABLE in request) {
    throw invalidField('request', 'is not a valid protobuf message for this method');
  }
}
