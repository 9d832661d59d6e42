/**
 * Bad-input fuzzing of every RPC against a child server: random and malformed requests (hostile
 * field values, wrong wire types, invalid UTF-8, deep JSON, garbage bytes, broken gRPC framing).
 * Each must get a catalogue answer (never INTERNAL/UNKNOWN; INVALID_ARGUMENT names a field), change
 * nothing when refused, and leave the server alive with bounded memory.
 * Seeded: the seed is printed; `PROGRESSDB_FUZZ_SEED=<n>` replays a run, `PROGRESSDB_FUZZ_ROUNDS`
 * sets its length.
 */
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as http2Connect, constants } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import * as adminProto from '../../src/gen/progressdb/v1/admin_service.js';
import * as authProto from '../../src/gen/progressdb/v1/auth_service.js';
import * as messageProto from '../../src/gen/progressdb/v1/message_service.js';
import * as tailProto from '../../src/gen/progressdb/v1/tail_service.js';
import * as threadProto from '../../src/gen/progressdb/v1/thread_service.js';
import { connect, errorInfo, type Api } from '../support/api-client.js';
import { rssBytes, spawnServer, type ChildServer } from '../support/child-server.js';
import { TEST_KEYS } from '../support/test-server.js';

const SEED = Number(process.env.PROGRESSDB_FUZZ_SEED ?? randomInt(2 ** 31));
const ROUNDS = Number(process.env.PROGRESSDB_FUZZ_ROUNDS ?? 6);
const CALLS_PER_ROUND = 120;
/** The server's old-generation cap: a few times what it needs, room for the largest requests. */
const HEAP_CAP_MB = 192;
/** RSS may rise while allocators and caches warm up; after that it must stay within this. */
const RSS_GROWTH_LIMIT_BYTES = 96 * 1024 * 1024;

/** mulberry32: small, fast, and good enough to pick test inputs reproducibly. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(SEED);
const int = (n: number): number => Math.floor(random() * n);
const chance = (p: number): boolean => random() < p;
/** The wire test's own stream, so its bytes depend on the seed alone, not on the tests before it. */
const wireRandom = prng(SEED ^ 1);
const wireByte = (): number => Math.floor(wireRandom() * 256);
function pick<T>(items: readonly T[]): T {
  return items[int(items.length)] as T;
}

interface Method {
  service: string;
  name: string;
  path: string;
  streaming: boolean;
  codec: { fromPartial(value: object): object; encode(value: object): { finish(): Uint8Array } };
  /** snake_case names a refusal may give as its `field` (first path segment). */
  fields: Set<string>;
  admin: boolean;
}

const snake = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const SERVICES = [
  ['ThreadService', threadProto.ThreadServiceService, threadProto],
  ['MessageService', messageProto.MessageServiceService, messageProto],
  ['TailService', tailProto.TailServiceService, tailProto],
  ['AuthService', authProto.AuthServiceService, authProto],
  ['AdminService', adminProto.AdminServiceService, adminProto],
] as const;
const ONEOF_CASES = ['before_seq', 'after_seq', 'around_message_id', 'around_seq', 'anchor'];

const METHODS: Method[] = SERVICES.flatMap(([service, definition, codecs]) =>
  Object.entries(definition as grpc.ServiceDefinition).map(([name, method]) => {
    const codec = (codecs as unknown as Record<string, Method['codec']>)[
      `${name[0]?.toUpperCase()}${name.slice(1)}Request`
    ];
    if (!codec) throw new Error(`no request codec for ${service}.${name}`);
    const keys = Object.keys(codec.fromPartial({})).map(snake);
    return {
      service,
      name,
      path: method.path,
      streaming: method.responseStream,
      codec,
      fields: new Set([...keys, ...ONEOF_CASES, 'request', 'x-user-id']),
      admin: service === 'AdminService',
    };
  }),
);

const THREADS = ['fz-0', 'fz-1', 'fz-2'];
const MESSAGES = ['m-0', 'm-1', 'm-2'];
const LONE_SURROGATE = '\ud800';
const BAD_IDS = [
  '',
  'x'.repeat(129),
  'x'.repeat(10_000),
  'a b',
  'a\u0000b',
  'a\nb',
  '\u007f',
  '\u001b[31m',
  'é',
  `a${LONE_SURROGATE}`,
  '-a',
  'a/b',
  '😀',
];
const TEXTS = [
  '',
  'hello',
  'x'.repeat(600),
  'y'.repeat(70_000),
  'tab\there',
  'nul\u0000',
  '\u202etxet',
  `${LONE_SURROGATE}x`,
  '😀'.repeat(40),
  '\ufffd',
];
const U64_MAX = 0xffff_ffff_ffff_ffffn;

function randomId(kind: 'thread' | 'message' | 'other'): string {
  const roll = random();
  if (roll < 0.45) return kind === 'thread' ? pick(THREADS) : pick(MESSAGES);
  if (roll < 0.6) return `fz-new-${int(1e9)}`;
  return pick(BAD_IDS);
}

function randomText(): string {
  return chance(0.3)
    ? String.fromCharCode(...Array.from({ length: int(40) }, () => int(0x300)))
    : pick(TEXTS);
}

function randomJson(depth = 0): unknown {
  const roll = random();
  if (depth > 300) return 1;
  if (roll < 0.1) return null;
  if (roll < 0.2) return pick([0, -0, 1.5, 1e308, -1e-308, 2 ** 53 + 1, NaN, Infinity]);
  if (roll < 0.3) return randomText();
  if (roll < 0.35) return chance(0.5);
  if (roll < 0.45) return Array.from({ length: int(4) }, () => randomJson(depth + 1));
  if (roll < 0.5) return { [randomText()]: randomJson(depth + 1) };
  if (roll < 0.55) {
    // Deep nesting, past the limit or near it.
    let value: unknown = 'leaf';
    const levels = pick([20, 29, 31, 44, 46, 100, 250]);
    for (let i = 0; i < levels; i++) value = chance(0.5) ? [value] : { k: value };
    return value;
  }
  if (roll < 0.58) {
    return Object.fromEntries(Array.from({ length: pick([100, 3000]) }, (_, i) => [`k${i}`, i]));
  }
  return { text: randomText() };
}

function randomMap(): Record<string, string> {
  const count = pick([0, 1, 3, 33, 40]);
  return Object.fromEntries(
    Array.from({ length: count }, (_, i) => [
      chance(0.1) ? '' : `${randomText().slice(0, 30)}${i}`,
      pick(TEXTS),
    ]),
  );
}

const NUMBERS = [0, 1, 50, 1000, 1001, 2 ** 31 - 1, 2 ** 32 - 1, -1, 7];
const BIGINTS = [0n, 1n, 2n, 3n, 2n ** 63n, U64_MAX];

/** A value for one field, by its name and the type of its default. */
function fieldValue(key: string, fallback: unknown): unknown {
  if (key.endsWith('Id') || key === 'threadIdPrefix') {
    if (key === 'kmsKeyId') return chance(0.5) ? '' : randomText();
    return randomId(key === 'threadId' ? 'thread' : key === 'messageId' ? 'message' : 'other');
  }
  if (key === 'userIds' || key === 'memberIds') {
    return Array.from({ length: pick([0, 1, 2, 1001]) }, () => randomId('other'));
  }
  if (key === 'eventTypes')
    return Array.from({ length: int(4) }, () => pick([0, 1, 5, 10, 999, -1]));
  if (key === 'body') return randomJson();
  if (key === 'messages') {
    return Array.from({ length: pick([0, 1, 2, 5, 1001]) }, () => ({
      messageId: chance(0.5) ? '' : randomId('message'),
      authorId: chance(0.7) ? '' : randomId('other'),
      role: chance(0.5) ? 'user' : randomText(),
      body: randomJson(),
      metadata: chance(0.7) ? {} : randomMap(),
      replyToId: chance(0.8) ? '' : randomId('message'),
    }));
  }
  if (key === 'metadata') return fallback === undefined ? { entries: randomMap() } : randomMap();
  if (key === 'expectedRevision') {
    return pick([
      undefined,
      { kind: { $case: 'exact', value: pick(BIGINTS) } },
      { kind: { $case: 'noThread', value: chance(0.5) } },
      { kind: { $case: 'any', value: chance(0.5) } },
    ]);
  }
  if (key === 'anchor') {
    return pick([
      undefined,
      { $case: 'beforeSeq', value: pick(BIGINTS) },
      { $case: 'afterSeq', value: pick(BIGINTS) },
      { $case: 'aroundSeq', value: pick(BIGINTS) },
      { $case: 'aroundMessageId', value: randomId('message') },
    ]);
  }
  if (key === 'title' || key === 'role' || key === 'reaction' || key === 'pageToken')
    return randomText();
  if (key === 'ttlSeconds') return pick([0, 1, 60, 2 ** 31 - 1, 2 ** 32 - 1, -1]);
  if (key === 'afterRevision' || key === 'beforeRevision' || key === 'afterPosition') {
    return chance(0.3) ? undefined : pick(BIGINTS);
  }
  if (typeof fallback === 'string') return randomText();
  if (typeof fallback === 'boolean') return chance(0.5);
  if (typeof fallback === 'bigint') return pick(BIGINTS);
  if (typeof fallback === 'number' || fallback === undefined)
    return chance(0.2) ? undefined : pick(NUMBERS);
  if (Array.isArray(fallback)) return [];
  return fallback;
}

/** A structured request: every field random, some hostile (values the encoder refuses: again). */
function structured(method: Method): Buffer {
  const base = method.codec.fromPartial({}) as Record<string, unknown>;
  for (;;) {
    const request: Record<string, unknown> = {};
    for (const [key, fallback] of Object.entries(base)) {
      request[key] = chance(0.75) ? fieldValue(key, fallback) : fallback;
    }
    try {
      return Buffer.from(method.codec.encode(method.codec.fromPartial(request)).finish());
    } catch {
      // A negative number in a uint32 field: the raw cases send such varints instead.
    }
  }
}

function varint(value: bigint): number[] {
  const bytes: number[] = [];
  let v = BigInt.asUintN(64, value);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    bytes.push(byte);
  } while (v > 0n);
  return bytes;
}

/** One field with a random (often wrong) wire type and payload. */
function rawField(field: number): number[] {
  const wireType = pick([0, 1, 2, 2, 5, 3, 4, 6, 7]);
  const key = varint(BigInt((field << 3) | wireType));
  switch (wireType) {
    case 0:
      return [...key, ...varint(pick([0n, 1n, 300n, U64_MAX, -1n]))];
    case 1:
      return [...key, ...Array.from({ length: 8 }, () => int(256))];
    case 5:
      return [...key, ...Array.from({ length: 4 }, () => int(256))];
    case 2: {
      const payloads = [
        [0xff, 0xfe, 0x80], // invalid UTF-8
        [0xc3, 0x28],
        [0xed, 0xa0, 0x80], // an encoded surrogate
        Array.from({ length: int(64) }, () => int(256)),
        [0x0a, 0x05, 0x61], // a nested field longer than its message
      ];
      const payload = pick(payloads);
      return [...key, ...varint(BigInt(payload.length)), ...payload];
    }
    default:
      return [...key, ...Array.from({ length: int(6) }, () => int(256))];
  }
}

/** Raw bytes: wrong wire types, mutations of a valid request, garbage, deep nesting. */
function rawBytes(method: Method): Buffer {
  const roll = random();
  if (roll < 0.35) {
    return Buffer.from(Array.from({ length: 1 + int(4) }, () => rawField(1 + int(12))).flat());
  }
  if (roll < 0.6) {
    const valid = structured(method);
    const mutated = Buffer.from(valid);
    for (let i = 0; i < 1 + int(4) && mutated.length > 0; i++)
      mutated[int(mutated.length)] = int(256);
    return chance(0.5) ? mutated : mutated.subarray(0, int(mutated.length + 1));
  }
  if (roll < 0.75) return Buffer.from(Array.from({ length: int(200) }, () => int(256)));
  if (roll < 0.85) {
    // A body nested thousands of levels deep, as raw Value/ListValue bytes (field 6 of
    // AppendMessageRequest, field 3 of EditMessageRequest; garbage elsewhere).
    let inner = Buffer.from([0x1a, 0x01, 0x78]); // Value.string_value = "x"
    for (let i = 0; i < pick([120, 3000]); i++) {
      const list = Buffer.concat([Buffer.from([0x0a, ...varint(BigInt(inner.length))]), inner]);
      inner = Buffer.concat([Buffer.from([0x32, ...varint(BigInt(list.length))]), list]);
    }
    const threadId = Buffer.from([0x0a, 4, ...Buffer.from('fz-0')]);
    return Buffer.concat([threadId, Buffer.from([0x32, ...varint(BigInt(inner.length))]), inner]);
  }
  // Invalid UTF-8 in every low-numbered string field.
  return Buffer.from([1, 2, 3, 4, 5].flatMap((field) => [(field << 3) | 2, 3, 0xff, 0xfe, 0xfd]));
}

interface Outcome {
  code: status;
  reason: string | undefined;
  field: string | undefined;
  detail: string;
}

const identity = (value: Buffer): Buffer => value;

/** The call's credentials; `hostile` sometimes sends a bad x-user-id. */
function metadataFor(method: Method, hostile: boolean): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${method.admin ? TEST_KEYS.admin : TEST_KEYS.backend}`);
  if (method.admin) return metadata;
  const bad = hostile && chance(0.05);
  metadata.set('x-user-id', bad ? pick(['-bad', 'a b', 'x'.repeat(200)]) : 'alice');
  return metadata;
}

function toOutcome(error: grpc.ServiceError | null): Outcome {
  if (!error) return { code: status.OK, reason: undefined, field: undefined, detail: '' };
  const info = errorInfo(error);
  return {
    code: error.code,
    reason: info?.reason,
    field: info?.metadata.field,
    detail: error.details,
  };
}

function callUnary(
  raw: grpc.Client,
  method: Method,
  bytes: Buffer,
  hostile = true,
): Promise<Outcome> {
  return new Promise((resolve) => {
    raw.makeUnaryRequest(
      method.path,
      identity,
      identity,
      bytes,
      metadataFor(method, hostile),
      (error) => resolve(toOutcome(error)),
    );
  });
}

/** A streaming call: its first frame (then cancelled: OK) or its status. */
function callStream(
  raw: grpc.Client,
  method: Method,
  bytes: Buffer,
  hostile = true,
): Promise<Outcome> {
  return new Promise((resolve) => {
    const stream = raw.makeServerStreamRequest(
      method.path,
      identity,
      identity,
      bytes,
      metadataFor(method, hostile),
    );
    let settled = false;
    const settle = (outcome: Outcome): void => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    stream.on('data', () => {
      settle(toOutcome(null));
      stream.cancel();
    });
    stream.on('error', (error: grpc.ServiceError) => settle(toOutcome(error)));
    stream.on('status', (s: grpc.StatusObject) => {
      if (s.code === status.OK) settle(toOutcome(null));
    });
  });
}

const ALLOWED = new Set([
  status.OK,
  status.INVALID_ARGUMENT,
  status.NOT_FOUND,
  status.ALREADY_EXISTS,
  status.FAILED_PRECONDITION,
  status.UNIMPLEMENTED,
]);
const READ_ONLY = /^(get|list|read|tail)/;
/** grpc-js refuses a message over the server's receive limit itself, before any handler. */
const OVER_RECEIVE_LIMIT = /Received message larger than max/;

let dataDir: string;
let child: ChildServer;
let api: Api;
let adminApi: Api;
let raw: grpc.Client;

async function stats() {
  const s = await adminApi.admin.getStats({});
  return { position: s.position, events: s.events, threads: s.threads, messages: s.messages };
}

before(async () => {
  console.log(`fuzz seed ${SEED} (replay: PROGRESSDB_FUZZ_SEED=${SEED})`);
  dataDir = await mkdtemp(join(tmpdir(), 'progressdb-fuzz-'));
  child = await spawnServer(dataDir, {
    PROGRESSDB_DURABILITY: 'os',
    // V8 grows its heap lazily; capped, garbage must be collected and a leak would run out of heap.
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=${HEAP_CAP_MB}`.trim(),
  });
  api = connect(child.address, {
    authorization: `Bearer ${TEST_KEYS.backend}`,
    'x-user-id': 'alice',
  });
  adminApi = connect(child.address, { authorization: `Bearer ${TEST_KEYS.admin}` });
  raw = new grpc.Client(child.address, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': -1,
    'grpc.max_receive_message_length': -1,
  });
  for (const threadId of THREADS) {
    for (const messageId of MESSAGES) {
      await api.messages.appendMessage({
        threadId,
        messageId,
        role: 'user',
        body: { t: 1 },
        createThread: true,
      });
    }
  }
});

after(async () => {
  api.close();
  adminApi.close();
  raw.close();
  await child.stop('SIGTERM');
  await rm(dataDir, { recursive: true, force: true });
});

test(`random and malformed requests to every RPC get catalogue answers and change nothing (seed ${SEED})`, async () => {
  const problems: string[] = [];
  const codes = new Map<string, number>();
  const rss: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < CALLS_PER_ROUND; i++) {
      const method = pick(METHODS);
      const bytes = chance(0.6) ? structured(method) : rawBytes(method);
      const writes = !READ_ONLY.test(method.name);
      const before = writes ? await stats() : undefined;
      const outcome = method.streaming
        ? await callStream(raw, method, bytes)
        : await callUnary(raw, method, bytes);
      const label = `${method.service}.${method.name} <${bytes.subarray(0, 48).toString('hex')}${bytes.length > 48 ? `… ${bytes.length} bytes` : ''}>`;
      codes.set(status[outcome.code], (codes.get(status[outcome.code]) ?? 0) + 1);
      if (outcome.code === status.RESOURCE_EXHAUSTED && OVER_RECEIVE_LIMIT.test(outcome.detail)) {
        // Over PROGRESSDB_MAX_RECEIVE_MESSAGE_BYTES: refused by grpc-js, as configured.
      } else if (!ALLOWED.has(outcome.code)) {
        problems.push(`${label}: ${status[outcome.code]} ${outcome.detail}`);
      } else if (outcome.code === status.INVALID_ARGUMENT) {
        const first = outcome.field?.split(/[.[]/)[0] ?? '';
        if (
          !['INVALID_FIELD', 'PAYLOAD_TOO_LARGE'].includes(outcome.reason ?? '') ||
          !method.fields.has(first)
        ) {
          problems.push(
            `${label}: INVALID_ARGUMENT reason ${outcome.reason} field "${outcome.field}" (${outcome.detail})`,
          );
        }
      }
      if (before && outcome.code !== status.OK) {
        const afterStats = await stats();
        if (
          JSON.stringify(afterStats, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v)) !==
          JSON.stringify(before, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))
        ) {
          problems.push(`${label}: refused with ${status[outcome.code]} but the counts changed`);
        }
      }
      assert.equal(child.process.exitCode, null, `the server died after ${label}`);
    }
    rss.push(rssBytes(child.process.pid ?? 0));
  }
  console.log(
    `fuzz outcomes: ${JSON.stringify(Object.fromEntries(codes))}; RSS per round (MiB): ${rss.map((b) => (b / 2 ** 20).toFixed(0)).join(' ')}`,
  );
  assert.deepEqual(problems.slice(0, 20), [], `${problems.length} bad answers (seed ${SEED})`);
  const warm = rss[1] ?? rss[0] ?? 0;
  assert.ok(
    (rss.at(-1) ?? 0) - warm < RSS_GROWTH_LIMIT_BYTES,
    `RSS grew from ${warm} to ${rss.at(-1)} bytes (seed ${SEED})`,
  );
});

/** Sends raw HTTP/2 to a method and resolves with its grpc-status (or the reset). */
function wireCall(address: string, headers: Record<string, string>, body: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const session = http2Connect(`http://${address}`);
    session.on('error', () => resolve('session error'));
    const stream = session.request({
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_PATH]: '/progressdb.v1.MessageService/AppendMessage',
      'content-type': 'application/grpc',
      te: 'trailers',
      authorization: `Bearer ${TEST_KEYS.backend}`,
      'x-user-id': 'alice',
      ...headers,
    });
    let code = 'none';
    const read = (h: Record<string, unknown>): void => {
      if (typeof h['grpc-status'] === 'string') code = h['grpc-status'];
    };
    stream.on('response', read);
    stream.on('trailers', read);
    stream.on('data', () => undefined);
    stream.on('error', () => undefined);
    stream.on('close', () => {
      session.close();
      resolve(code === 'none' ? `reset ${stream.rstCode}` : code);
    });
    stream.end(body);
  });
}

test('garbage on the wire (broken gRPC framing) is refused and the server lives on', async () => {
  // A thread of its own: the random calls above may have deleted or purged the fixtures.
  await api.threads.createThread({ threadId: 'fz-wire' });
  const before = await stats();
  const message = Buffer.from(
    messageProto.AppendMessageRequest.encode(
      messageProto.AppendMessageRequest.fromPartial({ threadId: 'fz-wire', role: 'user', body: 1 }),
    ).finish(),
  );
  const frame = (flag: number, length: number, payload: Buffer): Buffer =>
    Buffer.concat([
      Buffer.from([flag, length >>> 24, (length >>> 16) & 255, (length >>> 8) & 255, length & 255]),
      payload,
    ]);
  // grpc-js reads a compressed flag with the identity encoding as uncompressed: the valid message
  // it carries may then be appended, which is fine; every other case must be refused.
  const cases: [string, Record<string, string>, Buffer][] = [
    ['compressed flag without grpc-encoding', {}, frame(1, message.length, message)],
    ['unknown grpc-encoding', { 'grpc-encoding': 'zstd-fuzz' }, frame(1, message.length, message)],
    ['length prefix past the end', {}, frame(0, 1000, message)],
    ['a truncated prefix', {}, Buffer.from([0, 0, 0])],
    [
      'two messages on a unary call',
      {},
      Buffer.concat([frame(0, message.length, message), frame(0, message.length, message)]),
    ],
    ['random bytes', {}, Buffer.from(Array.from({ length: 300 }, () => wireByte()))],
    ['a 1 GiB length prefix', {}, frame(0, 2 ** 30, Buffer.alloc(10))],
    ['gzip flag with gzip garbage', { 'grpc-encoding': 'gzip' }, frame(1, 10, Buffer.alloc(10, 7))],
  ];
  const seen: string[] = [];
  let accepted = 0n;
  for (const [label, headers, body] of cases) {
    const code = await wireCall(child.address, headers, body);
    seen.push(`${label}: ${code}`);
    if (code === '0' && label.startsWith('compressed flag')) accepted += 1n;
    else assert.notEqual(code, '0', `${label} was accepted`);
    assert.equal(child.process.exitCode, null, `the server died after ${label}`);
  }
  console.log(`wire garbage: ${seen.join('; ')}`);
  const afterStats = await stats();
  assert.equal(afterStats.events, before.events + accepted);
  assert.equal(afterStats.position, before.position + accepted);
  // Still serving.
  const ok = await api.messages.appendMessage({
    threadId: 'fz-wire',
    role: 'user',
    body: 'after',
  });
  assert.ok(ok.revision > 0n);
});

test('tails resuming after the largest uint64 revision or position get an answer, not INTERNAL', async () => {
  await api.messages.appendMessage({
    threadId: 'fz-max',
    role: 'user',
    body: 1,
    createThread: true,
  });
  const calls: [string, Buffer][] = [
    [
      'TailThread',
      Buffer.from(
        tailProto.TailThreadRequest.encode({ threadId: 'fz-max', afterRevision: U64_MAX }).finish(),
      ),
    ],
    [
      'TailUser',
      Buffer.from(
        tailProto.TailUserRequest.encode({ userId: 'alice', afterPosition: U64_MAX }).finish(),
      ),
    ],
    [
      'TailAll',
      Buffer.from(
        tailProto.TailAllRequest.encode({
          afterPosition: U64_MAX,
          threadIdPrefix: '',
          eventTypes: [],
        }).finish(),
      ),
    ],
  ];
  const answers: string[] = [];
  for (const [name, bytes] of calls) {
    const method = METHODS.find(
      (m) => m.service === 'TailService' && m.name === `t${name.slice(1)}`,
    );
    assert.ok(method);
    const outcome = await callStream(raw, method, bytes, false);
    answers.push(`${name}: ${status[outcome.code]}`);
  }
  assert.deepEqual(answers, ['TailThread: OK', 'TailUser: OK', 'TailAll: OK']);
});
