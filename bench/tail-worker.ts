/**
 * A tail-scenario child process (`node --import tsx bench/tail-worker.ts`, IPC channel): holds many
 * TailThread streams over plain HTTP/2 and counts what they deliver, or appends stamped messages.
 * Frames are parsed only as far as needed: the gRPC length prefix, the oneof tag of the frame, and
 * the stamp in the message id, so that the client spends little CPU per delivery.
 */
import * as http2 from 'node:http2';
import { AppendMessageRequest } from '../src/gen/progressdb/v1/message_service.js';
import { TailThreadRequest } from '../src/gen/progressdb/v1/tail_service.js';
import { LatencyHistogram } from './latency-histogram.js';
import { makeBody } from './request-payloads.js';
import {
  type AppendTask,
  monotonicUs,
  STAMP_PREFIX,
  type TailParentMessage,
  type TailTask,
  type TailWorkerMessage,
  type TailWorkerReport,
  type WindowCommand,
} from './tail-protocol.js';
import { connectTransport, type UnaryTransport } from './unary-transport.js';

const TAIL_PATH = '/progressdb.v1.TailService/TailThread';
const APPEND_PATH = '/progressdb.v1.MessageService/AppendMessage';
const EVENT_TAG = 0x0a;
const CAUGHT_UP_TAG = 0x12;
const STAMP = Buffer.from(STAMP_PREFIX);
const TILDE = '~'.charCodeAt(0);

function send(message: TailWorkerMessage, exit = false): void {
  if (!process.connected) process.exit(exit ? 0 : 1);
  process.send?.(message, undefined, undefined, () => {
    if (exit) process.exit(0);
  });
}

/** What the tails of this process saw. */
class Tally {
  count = 0;
  readonly histogram = new LatencyHistogram();
  readonly errors: Record<string, number> = {};
  firstError: string | undefined;
  window: WindowCommand | undefined;

  inWindow(now = Date.now()): boolean {
    return (
      this.window !== undefined && now >= this.window.windowStartMs && now < this.window.windowEndMs
    );
  }

  error(code: string, message: string): void {
    if (this.window && Date.now() >= this.window.windowEndMs) return;
    this.errors[code] = (this.errors[code] ?? 0) + 1;
    this.firstError ??= `${code}: ${message}`;
  }
}

/** Reads the stamp of an event frame, if any: µs on the monotonic clock. */
function stampOf(payload: Buffer): number | undefined {
  const at = payload.indexOf(STAMP);
  if (at < 0) return undefined;
  let value = 0;
  for (let i = at + STAMP.length; i < payload.length; i++) {
    const byte = payload[i] as number;
    if (byte === TILDE) return value;
    value = value * 10 + (byte - 48);
  }
  return undefined;
}

function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

async function openSessions(address: string, count: number): Promise<http2.ClientHttp2Session[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const session = http2.connect(`http://${address}`, {
        settings: { initialWindowSize: 4 * 1024 * 1024 },
      });
      await new Promise<void>((resolve, reject) => {
        session.once('connect', () => resolve());
        session.once('error', reject);
      });
      session.setLocalWindowSize(64 * 1024 * 1024);
      session.on('error', () => undefined);
      return session;
    }),
  );
}

interface TailHandle {
  caughtUp: Promise<{ events: number; elapsedMs: number }>;
  stream: http2.ClientHttp2Stream;
}

/** Opens one TailThread stream; counts event frames, records stamped latencies while in window. */
function openTail(
  session: http2.ClientHttp2Session,
  headers: Record<string, string>,
  tail: TailTask['tails'][number],
  tally: Tally,
): TailHandle {
  const openedAt = performance.now();
  const stream = session.request({
    ':method': 'POST',
    ':path': TAIL_PATH,
    'content-type': 'application/grpc',
    te: 'trailers',
    ...headers,
  });
  const request = TailThreadRequest.fromPartial({
    threadId: tail.threadId,
    ...(tail.afterRevision === undefined ? {} : { afterRevision: BigInt(tail.afterRevision) }),
  });
  stream.end(grpcFrame(TailThreadRequest.encode(request).finish()));
  let pending: Buffer | undefined;
  let replayed = 0;
  let caught = false;
  let markCaughtUp: (value: { events: number; elapsedMs: number }) => void = () => undefined;
  let failCaughtUp: (error: Error) => void = () => undefined;
  const caughtUp = new Promise<{ events: number; elapsedMs: number }>((resolve, reject) => {
    markCaughtUp = resolve;
    failCaughtUp = reject;
  });
  caughtUp.catch(() => undefined);
  stream.on('data', (chunk: Buffer) => {
    const buffer = pending ? Buffer.concat([pending, chunk]) : chunk;
    let offset = 0;
    while (buffer.length - offset >= 5) {
      const length = buffer.readUInt32BE(offset + 1);
      if (buffer.length - offset - 5 < length) break;
      const payload = buffer.subarray(offset + 5, offset + 5 + length);
      offset += 5 + length;
      const tag = payload[0];
      if (tag === EVENT_TAG) {
        if (!caught) {
          replayed++;
          continue;
        }
        const now = Date.now();
        if (!tally.inWindow(now)) continue;
        tally.count++;
        const stamp = stampOf(payload);
        if (stamp !== undefined) tally.histogram.record(monotonicUs() - stamp);
      } else if (tag === CAUGHT_UP_TAG && !caught) {
        caught = true;
        markCaughtUp({ events: replayed, elapsedMs: performance.now() - openedAt });
      }
    }
    pending = offset < buffer.length ? Buffer.from(buffer.subarray(offset)) : undefined;
  });
  const onEnd = (status: string, message: string): void => {
    if (!caught)
      failCaughtUp(
        new Error(`tail of ${tail.threadId} ended before caught_up: ${status} ${message}`),
      );
    tally.error(status, message);
  };
  stream.on('trailers', (trailers: http2.IncomingHttpHeaders) => {
    const status = String(trailers['grpc-status'] ?? '?');
    const message = decodeURIComponent(String(trailers['grpc-message'] ?? ''));
    onEnd(`grpc ${status}`, message);
  });
  stream.on('error', (err: Error) => onEnd('stream error', err.message));
  return { caughtUp, stream };
}

async function runTails(task: TailTask): Promise<void> {
  const sessions = await openSessions(task.address, task.connections);
  const tally = new Tally();
  let handles: TailHandle[] = [];
  const open = (): TailHandle[] =>
    task.tails.map((tail, i) =>
      openTail(sessions[i % sessions.length]!, task.headers, tail, tally),
    );
  if (task.mode === 'live') {
    handles = open();
    await Promise.all(handles.map((h) => h.caughtUp));
  }
  send({ type: 'ready', opened: task.tails.length });
  const window = await nextWindow();
  tally.window = window;
  let cpuAtStart: NodeJS.CpuUsage;
  let replays: { events: number; elapsedMs: number }[] = [];
  if (task.mode === 'catchup') {
    await sleepUntil(window.windowStartMs);
    cpuAtStart = process.cpuUsage();
    handles = open();
    replays = await Promise.all(handles.map((h) => h.caughtUp));
  } else {
    await sleepUntil(window.windowStartMs);
    cpuAtStart = process.cpuUsage();
    await sleepUntil(window.windowEndMs);
  }
  const cpu = process.cpuUsage(cpuAtStart);
  const windowMs =
    task.mode === 'catchup'
      ? Math.max(...replays.map((r) => r.elapsedMs), 1)
      : window.windowEndMs - window.windowStartMs;
  const report: TailWorkerReport = {
    type: 'report',
    count: tally.count,
    latencies: tally.histogram.snapshot(),
    errors: tally.errors,
    firstError: tally.firstError,
    replays,
    late: 0,
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    windowMs,
  };
  for (const handle of handles) handle.stream.close(http2.constants.NGHTTP2_CANCEL);
  for (const session of sessions) session.destroy();
  send(report, true);
}

async function runAppends(task: AppendTask): Promise<void> {
  const transports: UnaryTransport[] = await Promise.all(
    Array.from({ length: task.connections }, (_, i) =>
      connectTransport('http2', task.address, task.headers, `${process.pid}-${i}`),
    ),
  );
  const prefixes = task.threadIds.map((threadId, i) =>
    Buffer.from(
      AppendMessageRequest.encode(
        AppendMessageRequest.fromPartial({
          threadId,
          role: 'user',
          body: makeBody(task.bodyBytes, i % 16),
        }),
      ).finish(),
    ),
  );
  send({ type: 'ready', opened: transports.length });
  const window = await nextWindow();
  const tally = new Tally();
  tally.window = window;
  let inFlight = 0;
  let issued = 0;
  let late = 0;
  let stopping = false;
  let sequence = 0;
  const issue = (): void => {
    const transport = transports[issued % transports.length]!;
    const prefix = prefixes[issued % prefixes.length]!;
    issued++;
    inFlight++;
    const stamp = monotonicUs();
    // Field 2 (message_id), length-delimited: the stamp goes on the wire as the id.
    const text = Buffer.from(`${STAMP_PREFIX}${stamp}~${process.pid}-${sequence++}`);
    const id = Buffer.concat([Buffer.from([0x12, text.length]), text]);
    transport.call(APPEND_PATH, Buffer.concat([prefix, id]), (failure) => {
      inFlight--;
      const now = Date.now();
      if (tally.inWindow(now)) {
        if (failure) tally.error(`grpc ${failure.code}`, failure.message);
        else {
          tally.count++;
          tally.histogram.record(monotonicUs() - stamp);
        }
      }
      if (task.ratePerSec === 0 && !stopping) issue();
    });
  };
  if (task.ratePerSec === 0) {
    for (let i = 0; i < task.concurrency; i++) issue();
  } else {
    const startedAt = performance.now();
    const pace = (): void => {
      if (stopping) return;
      const due = Math.floor(((performance.now() - startedAt) / 1000) * task.ratePerSec);
      while (issued < due) {
        if (inFlight >= task.concurrency) {
          late += due - issued;
          issued = due;
          break;
        }
        issue();
      }
      setTimeout(pace, 1);
    };
    pace();
  }
  await sleepUntil(window.windowStartMs);
  const cpuAtStart = process.cpuUsage();
  const lateAtStart = late;
  await sleepUntil(window.windowEndMs);
  const cpu = process.cpuUsage(cpuAtStart);
  stopping = true;
  const report: TailWorkerReport = {
    type: 'report',
    count: tally.count,
    latencies: tally.histogram.snapshot(),
    errors: tally.errors,
    firstError: tally.firstError,
    replays: [],
    late: late - lateAtStart,
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    windowMs: window.windowEndMs - window.windowStartMs,
  };
  const drainedBy = Date.now() + 5000;
  while (inFlight > 0 && Date.now() < drainedBy) await new Promise((r) => setTimeout(r, 5));
  for (const transport of transports) transport.close();
  send(report, true);
}

let windowWaiter: ((window: WindowCommand) => void) | undefined;
let windowReceived: WindowCommand | undefined;
function nextWindow(): Promise<WindowCommand> {
  if (windowReceived) return Promise.resolve(windowReceived);
  return new Promise((resolve) => (windowWaiter = resolve));
}

function sleepUntil(epochMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, epochMs - Date.now())));
}

process.on('message', (message: TailParentMessage) => {
  if (message.type === 'start') {
    windowReceived = message;
    windowWaiter?.(message);
    return;
  }
  const run = message.type === 'tails' ? runTails(message) : runAppends(message);
  run.catch((err: unknown) => send({ type: 'failure', message: String(err) }, true));
});

process.on('disconnect', () => process.exit(0));
