import type { Limits as ConfigLimits } from '../config/index.js';
import type { ExpectedRevision } from '../log/index.js';
import {
  invalidField,
  isMessageTtlOverride,
  MESSAGE_TTL_METADATA_KEY,
  payloadTooLarge,
} from '../log/index.js';
import type { ExpectedRevision as WireExpectedRevision } from '../gen/progressdb/v1/types.js';

/** The request limits of API.md (configurable): the configuration's slice the server checks. */
export type Limits = Omit<ConfigLimits, 'maxReceiveMessageBytes'>;

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._~:@-]{0,127}$/;
/**
 * How deep a body may nest, counted as the wire counts it: a google.protobuf.Value inside a list
 * is 2 messages deeper, inside an object 3 (Struct, its entry, the Value). Decoders stop at 100
 * levels and the deepest response wraps a body in 4 more, so 90 leaves room: about 30 nested
 * objects or 45 nested lists.
 */
const MAX_BODY_WIRE_DEPTH = 90;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** An id: 1–128 characters from [A-Za-z0-9._~:@-], first alphanumeric. @throws INVALID_FIELD */
export function requireId(value: string, field: string): string {
  if (!ID_PATTERN.test(value)) {
    throw invalidField(
      field,
      value === ''
        ? 'is required'
        : 'must be 1-128 characters from [A-Za-z0-9._~:@-], starting with a letter or digit',
    );
  }
  return value;
}

/** An optional id: empty, or a valid id. @throws INVALID_FIELD */
export function optionalId(value: string, field: string): string {
  return value === '' ? '' : requireId(value, field);
}

/** A list of distinct valid ids. @throws INVALID_FIELD, PAYLOAD_TOO_LARGE */
export function requireIds(values: readonly string[], field: string, max: number): string[] {
  if (values.length > max) throw payloadTooLarge(field, max, 'entries');
  values.forEach((value, index) => requireId(value, `${field}[${index}]`));
  return [...new Set(values)];
}

/** Free text of at most `maxChars` characters without control characters. @throws INVALID_FIELD, PAYLOAD_TOO_LARGE */
export function requireText(value: string, field: string, maxChars: number): string {
  if (value.length > maxChars && [...value].length > maxChars) {
    throw payloadTooLarge(field, maxChars, 'characters');
  }
  if (CONTROL_CHARS.test(value)) throw invalidField(field, 'must not contain control characters');
  return value;
}

/** A reaction: 1 to `maxBytes` bytes of UTF-8 without control characters. */
export function requireReaction(value: string, limits: Limits): string {
  if (value === '') throw invalidField('reaction', 'is required');
  if (Buffer.byteLength(value) > limits.maxReactionBytes) {
    throw payloadTooLarge('reaction', limits.maxReactionBytes, 'bytes');
  }
  if (CONTROL_CHARS.test(value))
    throw invalidField('reaction', 'must not contain control characters');
  return value;
}

/** A metadata map within the entry-count and entry-size limits. @throws INVALID_FIELD, PAYLOAD_TOO_LARGE */
export function requireMetadata(
  value: Record<string, string>,
  field: string,
  limits: Limits,
): Record<string, string> {
  const entries = Object.entries(value);
  if (entries.length > limits.maxMetadataEntries) {
    throw payloadTooLarge(field, limits.maxMetadataEntries, 'entries');
  }
  for (const [key, entry] of entries) {
    if (key === '') throw invalidField(field, 'keys must not be empty');
    if (Buffer.byteLength(key) + Buffer.byteLength(entry) > limits.maxMetadataEntryBytes) {
      throw payloadTooLarge(`${field}.${key}`, limits.maxMetadataEntryBytes, 'bytes');
    }
  }
  return value;
}

/**
 * A thread's metadata: a metadata map whose `progressdb.message_ttl_seconds`, if present, is whole
 * seconds or `off` (retention reads it). @throws INVALID_FIELD, PAYLOAD_TOO_LARGE
 */
export function requireThreadMetadata(
  value: Record<string, string>,
  field: string,
  limits: Limits,
): Record<string, string> {
  const ttl = requireMetadata(value, field, limits)[MESSAGE_TTL_METADATA_KEY];
  if (ttl !== undefined && !isMessageTtlOverride(ttl)) {
    throw invalidField(
      `${field}.${MESSAGE_TTL_METADATA_KEY}`,
      'must be a whole number of seconds or "off"',
    );
  }
  return value;
}

function checkJson(value: unknown, field: string, depth: number): void {
  if (depth > MAX_BODY_WIRE_DEPTH) {
    throw invalidField(field, 'is nested too deeply (at most about 30 objects or 45 lists)');
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalidField(field, 'numbers must be finite');
  } else if (Array.isArray(value)) {
    for (const item of value) checkJson(item, field, depth + 2);
  } else if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value)) checkJson(item, field, depth + 3);
  }
}

/**
 * A message body: `decoded` is the JSON value the request carried, `raw` its encoded
 * google.protobuf.Value (what is stored). Checks finiteness, nesting and the size of the encoding.
 * An absent body is an empty buffer.
 */
export function requireBody(decoded: unknown, raw: Buffer, field: string, limits: Limits): Buffer {
  if (decoded === undefined) return Buffer.alloc(0);
  checkJson(decoded, field, 0);
  if (raw.length > limits.maxBodyBytes) throw payloadTooLarge(field, limits.maxBodyBytes, 'bytes');
  return raw;
}

/** A page size: 1 to the maximum, or the default when absent. @throws INVALID_FIELD */
export function pageSize(
  value: number | undefined,
  field: string,
  fallback: number,
  limits: Limits,
): number {
  if (value === undefined) return fallback;
  if (value < 1 || value > limits.maxPageSize) {
    throw invalidField(field, `must be between 1 and ${limits.maxPageSize}`);
  }
  return value;
}

/** The wire's ExpectedRevision oneof as the log's. */
export function expectedRevision(value: WireExpectedRevision | undefined): ExpectedRevision {
  switch (value?.kind?.$case) {
    case 'noThread':
      return value.kind.value ? { kind: 'no_thread' } : { kind: 'any' };
    case 'exact':
      return { kind: 'exact', revision: value.kind.value };
    default:
      return { kind: 'any' };
  }
}
