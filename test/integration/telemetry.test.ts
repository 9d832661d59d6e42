import assert from 'node:assert/strict';
import { register } from 'node:module';
import { after, before, test } from 'node:test';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';

// As the preload does: the ESM hook first, then the SDK, and only then anything importing grpc-js.
register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, {
  data: { include: ['@grpc/grpc-js'] },
});

/** Keeps ended spans and wakes whoever waits for one (events, not sleeps). */
class SpanWaiter implements SpanProcessor {
  readonly spans: ReadableSpan[] = [];
  #waiters: (() => void)[] = [];
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    this.spans.push(span);
    for (const wake of this.#waiters.splice(0)) wake();
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
  /** The first ended span matching `match`, once it has ended. */
  async find(match: (span: ReadableSpan) => boolean): Promise<ReadableSpan> {
    for (;;) {
      const found = this.spans.find(match);
      if (found) return found;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }
}

const spans = new SpanWaiter();
const { startTelemetry, createLogger, Metric, SpanName } =
  await import('../../src/telemetry/index.js');
startTelemetry({ metrics: true, spanProcessors: [spans] });
const grpc = await import('@grpc/grpc-js');
const { startTestServer, backendMetadata, TEST_KEYS } = await import('../support/test-server.js');
const { TailReader } = await import('../support/tail-client.js');
const { StalledTail } = await import('../support/stalled-tail.js');

/** Log lines the server writes, parsed, with a wake-up for each. */
const lines: Record<string, unknown>[] = [];
const lineWaiters: (() => void)[] = [];
const logger = createLogger({
  level: 'info',
  destination: {
    write(line: string) {
      lines.push(JSON.parse(line) as Record<string, unknown>);
      for (const wake of lineWaiters.splice(0)) wake();
    },
  },
});

async function logLine(match: (line: Record<string, unknown>) => boolean) {
  for (;;) {
    const found = lines.find(match);
    if (found) return found;
    await new Promise<void>((resolve) => lineWaiters.push(resolve));
  }
}

let server: Awaited<ReturnType<typeof startTestServer>>;

before(async () => {
  server = await startTestServer({
    logger,
    env: { PROGRESSDB_METRICS_LISTEN: '127.0.0.1:0', PROGRESSDB_ENCRYPTION: 'on' },
  });
});

after(() => server.close());

const serverSpan = (method: string) => (span: ReadableSpan) =>
  span.kind === SpanKind.SERVER && span.name === `grpc.progressdb.v1.MessageService/${method}`;

test('an append makes a server span with method and status, and a group-commit child', async () => {
  const api = server.api();
  await api.messages.appendMessage({
    threadId: 'traced',
    role: 'user',
    body: { text: 'hello' },
    createThread: true,
  });
  const rpc = await spans.find(serverSpan('AppendMessage'));
  assert.equal(rpc.attributes['rpc.method'], 'AppendMessage');
  assert.equal(rpc.attributes['rpc.service'], 'progressdb.v1.MessageService');
  assert.equal(rpc.attributes['rpc.grpc.status_code'], grpc.status.OK);
  const { traceId, spanId } = rpc.spanContext();
  const commit = await spans.find(
    (span) => span.name === SpanName.groupCommit && span.spanContext().traceId === traceId,
  );
  assert.equal(commit.parentSpanContext?.spanId, spanId);
  assert.equal(commit.attributes['progressdb.group_commit.commands'], 1);
  assert.ok((commit.attributes['progressdb.group_commit.bytes'] as number) > 0);
  // A new thread's data key is made by the key provider, under the same request.
  const kms = await spans.find(
    (span) =>
      span.name === `${SpanName.kmsPrefix}generate` && span.spanContext().traceId === traceId,
  );
  assert.equal(kms.attributes['progressdb.kms.provider'], 'local');
  api.close();
});

test('a failed call is a server span with its status; a page read has a scan child span', async () => {
  const api = server.api();
  await assert.rejects(api.messages.listMessages({ threadId: 'no-such-thread' }), {
    code: grpc.status.NOT_FOUND,
  });
  const failed = await spans.find(
    (span) =>
      serverSpan('ListMessages')(span) &&
      span.attributes['rpc.grpc.status_code'] === grpc.status.NOT_FOUND,
  );
  assert.equal(failed.status.code, 2 /* ERROR */);

  await api.messages.listMessages({ threadId: 'traced' });
  const listed = await spans.find(
    (span) =>
      serverSpan('ListMessages')(span) &&
      span.attributes['rpc.grpc.status_code'] === grpc.status.OK,
  );
  const scan = await spans.find(
    (span) =>
      span.name === SpanName.rocksScan &&
      span.parentSpanContext?.spanId === listed.spanContext().spanId,
  );
  assert.equal(scan.attributes['progressdb.storage.family'], 'tails');
  api.close();
});

test("a request's log lines carry its trace and span ids", async () => {
  const intruder = server.apiWith({
    authorization: 'Bearer not-a-key-0123456789',
    'x-user-id': 'u',
  });
  await assert.rejects(intruder.messages.listMessages({ threadId: 'traced' }), {
    code: grpc.status.UNAUTHENTICATED,
  });
  const denied = await logLine((line) => line.msg === 'call denied');
  const rpc = await spans.find(
    (span) =>
      serverSpan('ListMessages')(span) &&
      span.attributes['rpc.grpc.status_code'] === grpc.status.UNAUTHENTICATED,
  );
  assert.equal(denied.trace_id, rpc.spanContext().traceId);
  assert.equal(denied.span_id, rpc.spanContext().spanId);
  const startup = await logLine((line) => String(line.msg).startsWith('metrics on '));
  assert.equal(startup.trace_id, undefined, 'a line outside any request has no trace id');
  intruder.close();
});

test('/metrics serves the RPC histogram, group-commit metrics and subscriber gauges', async () => {
  const url = server.app.metricsUrl;
  assert.ok(url, 'the test server serves metrics');
  const api = server.api();
  for (let i = 0; i < 5; i++) {
    await api.messages.appendMessage({
      threadId: 'scraped',
      role: 'user',
      body: i,
      createThread: true,
    });
  }
  const tail = new TailReader(
    api.raw.tails.tailThread({ threadId: 'scraped', afterRevision: 0n }, backendMetadata()),
  );
  await tail.until(() => tail.items.some((item) => item.kind === 'caughtUp'));

  const text = await (await fetch(url)).text();
  const has = (pattern: RegExp): void => assert.match(text, pattern);
  const name = (metric: string): string => metric.replaceAll('.', '_');
  has(
    new RegExp(
      `^${name(Metric.rpcDuration)}_bucket\\{rpc_service="progressdb.v1.MessageService",rpc_method="AppendMessage",rpc_grpc_status="OK",le="[^"]+"\\} [1-9]`,
      'm',
    ),
  );
  has(new RegExp(`^${name(Metric.rpcDuration)}_count\\{[^}]*rpc_grpc_status="NOT_FOUND"`, 'm'));
  has(new RegExp(`^${name(Metric.groupCommitCommands)}_count\\{[^}]*\\} [1-9]`, 'm'));
  has(new RegExp(`^${name(Metric.groupCommitBytes)}_sum\\{[^}]*\\} [1-9]`, 'm'));
  has(new RegExp(`^${name(Metric.groupCommitWrite)}_count\\{[^}]*\\} [1-9]`, 'm'));
  has(new RegExp(`^${name(Metric.eventsAppended)}_total [1-9]`, 'm'));
  has(
    new RegExp(
      `^${name(Metric.familyWrittenBytes)}_total\\{progressdb_storage_family="events"\\} [1-9]`,
      'm',
    ),
  );
  has(new RegExp(`^${name(Metric.tailSubscribers)}\\{progressdb_tail_kind="thread"\\} 1$`, 'm'));
  has(new RegExp(`^${name(Metric.tailSubscribers)}\\{progressdb_tail_kind="all"\\} 0$`, 'm'));
  has(
    new RegExp(`^${name(Metric.kmsCalls)}_total\\{[^}]*progressdb_kms_operation="generate"`, 'm'),
  );
  has(
    new RegExp(
      `^${name(Metric.keyCacheLookups)}_total\\{progressdb_key_cache_result="hit"\\} [1-9]`,
      'm',
    ),
  );
  has(new RegExp(`^${name(Metric.diskBytes)}\\{progressdb_storage_file_kind="wal"\\} \\d+`, 'm'));
  tail.cancel();
  await tail.ended;
  // The server learns of the cancellation on its own time: scrape until the stream is counted.
  const cancelled = new RegExp(
    `^${name(Metric.rpcDuration)}_count\\{rpc_service="progressdb.v1.TailService",rpc_method="TailThread",rpc_grpc_status="CANCELLED"\\} 1$`,
    'm',
  );
  let scraped = '';
  for (const until = Date.now() + 10_000; !cancelled.test(scraped) && Date.now() < until;) {
    scraped = await (await fetch(url)).text();
  }
  assert.match(scraped, cancelled, 'a tail cancelled by its client is a CANCELLED call');
  api.close();
});

test('a metrics address in use stops the start with a message that says what to change', async () => {
  const taken = new URL(server.app.metricsUrl ?? assert.fail('the test server serves metrics'));
  await assert.rejects(
    startTestServer({ env: { PROGRESSDB_METRICS_LISTEN: `127.0.0.1:${taken.port}` } }),
    (error: Error) =>
      error.message.includes(`cannot serve metrics on 127.0.0.1:${taken.port}`) &&
      error.message.includes('the address is in use') &&
      error.message.includes('PROGRESSDB_METRICS_LISTEN'),
  );
});

// The tests below read gauges that every app of the process reports under the same labels (metrics
// are per process): the shared server is closed first, so the figures are the test's own server's.
test('GetStats and /metrics give bytes and keys per column family, from the SST files', async () => {
  await server.close();
  let own = await startTestServer({ env: { PROGRESSDB_METRICS_LISTEN: '127.0.0.1:0' } });
  try {
    const api = own.api();
    for (let i = 0; i < 40; i++) {
      await api.messages.appendMessage({
        threadId: 'sized',
        role: 'user',
        body: i,
        createThread: true,
      });
    }
    api.close();
    // Reopening replays the WAL into SST files: what the figures count.
    own = await own.restart();
    const admin = own.apiWith({ authorization: `Bearer ${TEST_KEYS.admin}` });
    const stats = await admin.admin.getStats({});
    const events = stats.columnFamilies.find((family) => family.name === 'events');
    assert.ok(events, 'every family is listed');
    assert.equal(stats.columnFamilies.length, 7);
    assert.ok(events.bytes > 0n, 'the events family has bytes on disk');
    assert.ok(
      events.keys >= 41n,
      `events: 40 messages and the thread's creation, got ${events.keys}`,
    );
    const url = own.app.metricsUrl;
    assert.ok(url);
    const text = await (await fetch(url)).text();
    assert.match(
      text,
      /^progressdb_storage_family_bytes\{progressdb_storage_family="events"\} [1-9]/m,
    );
    assert.match(
      text,
      /^progressdb_storage_family_keys\{progressdb_storage_family="events"\} [1-9]/m,
    );
    admin.close();
  } finally {
    await own.close();
  }
});

test('a subscriber dropped as too slow is counted by kind', async () => {
  const own = await startTestServer({
    env: { PROGRESSDB_METRICS_LISTEN: '127.0.0.1:0', PROGRESSDB_TAIL_MAX_BUFFERED_EVENTS: '20' },
  });
  try {
    const api = own.api();
    await api.threads.createThread({ threadId: 'flood' });
    const stalled = new StalledTail(
      own.address,
      { threadId: 'flood' },
      { authorization: `Bearer ${TEST_KEYS.backend}`, 'x-user-id': 'alice' },
    );
    while (own.app.tails.stats().subscribers.thread < 1) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    stalled.stall();
    const body = { text: 'x'.repeat(16 * 1024) };
    for (let i = 0; i < 20 && own.app.tails.stats().subscribers.thread > 0; i++) {
      const messages = Array.from({ length: 25 }, () => ({ role: 'user', body }));
      await api.messages.appendMessages({ threadId: 'flood', messages });
    }
    const end = await stalled.finish();
    assert.equal(end.reason, 'SUBSCRIBER_TOO_SLOW');
    const url = own.app.metricsUrl;
    assert.ok(url);
    const text = await (await fetch(url)).text();
    assert.match(text, /^progressdb_tail_dropped_total\{progressdb_tail_kind="thread"\} 1$/m);
    assert.match(text, /^progressdb_tail_subscribers\{progressdb_tail_kind="thread"\} 0$/m);
    api.close();
  } finally {
    await own.close();
  }
});

test('a group commit that fails ends its span as an error; the writer goes on', async () => {
  // A server of its own: the shared one is closed by the column-family test above.
  const own = await startTestServer();
  try {
    const parent = trace.getTracer('test').startSpan('failing job');
    const failing = context.with(trace.setSpan(context.active(), parent), () =>
      own.app.log.runJob((tx) => {
        // A family the database does not have: the batch cannot be written.
        tx.put('no-such-family' as never, Buffer.from('k'), Buffer.from('v'));
      }),
    );
    await assert.rejects(failing);
    parent.end();
    const { traceId } = parent.spanContext();
    // Bounded: should the failure come before a group is sent, no span would ever end.
    let deadline: NodeJS.Timeout | undefined;
    const commit = await Promise.race([
      spans.find(
        (span) => span.name === SpanName.groupCommit && span.spanContext().traceId === traceId,
      ),
      new Promise<never>((_, reject) => {
        deadline = setTimeout(() => reject(new Error('no group-commit span ended')), 10_000);
      }),
    ]).finally(() => clearTimeout(deadline));
    assert.equal(commit.status.code, SpanStatusCode.ERROR);
    const api = own.api();
    const after = await api.messages.appendMessage({
      threadId: 'after-failed-commit',
      role: 'user',
      body: 'still writing',
      createThread: true,
    });
    assert.equal(after.revision, 2n);
    api.close();
  } finally {
    await own.close();
  }
});
