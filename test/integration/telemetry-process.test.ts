import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath } from 'grpc-health-check';
import { connect } from '../support/api-client.js';
import { spawnServer, type ChildServer } from '../support/child-server.js';
import { TEST_KEYS } from '../support/test-server.js';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const PRELOAD = fileURLToPath(new URL('../../src/telemetry/preload.mjs', import.meta.url));

// The server as `npm start` runs it (with the telemetry preload), exporting spans over OTLP/JSON
// to a collector this test plays, and serving /metrics on a free port.

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: { stringValue?: string; intValue?: string | number } }[];
}

/** A fake OTLP/HTTP collector: keeps the spans and metric names it receives and wakes waiters. */
class Collector {
  readonly spans: OtlpSpan[] = [];
  readonly metricNames = new Set<string>();
  readonly #server: Server;
  #waiters: (() => void)[] = [];

  constructor() {
    this.#server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          resourceSpans?: { scopeSpans?: { spans?: OtlpSpan[] }[] }[];
          resourceMetrics?: { scopeMetrics?: { metrics?: { name: string }[] }[] }[];
        };
        for (const resource of body.resourceSpans ?? [])
          for (const scope of resource.scopeSpans ?? []) this.spans.push(...(scope.spans ?? []));
        for (const resource of body.resourceMetrics ?? [])
          for (const scope of resource.scopeMetrics ?? [])
            for (const metric of scope.metrics ?? []) this.metricNames.add(metric.name);
        response.setHeader('content-type', 'application/json');
        response.end('{}');
        for (const wake of this.#waiters.splice(0)) wake();
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async metric(name: string): Promise<void> {
    while (!this.metricNames.has(name)) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  async find(match: (span: OtlpSpan) => boolean): Promise<OtlpSpan> {
    for (;;) {
      const found = this.spans.find(match);
      if (found) return found;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

function attribute(span: OtlpSpan, key: string): string | number | undefined {
  const value = span.attributes.find((entry) => entry.key === key)?.value;
  if (value?.intValue !== undefined) return Number(value.intValue);
  return value?.stringValue;
}

interface HealthClient extends grpc.Client {
  watch(request: { service: string }): grpc.ClientReadableStream<{ status: string }>;
}

function healthClient(address: string): HealthClient {
  const loaded = grpc.loadPackageDefinition(loadSync(protoPath, { enums: String })) as unknown as {
    grpc: { health: { v1: { Health: new (...args: unknown[]) => HealthClient } } };
  };
  return new loaded.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
}

const collector = new Collector();
let dataDir: string;
let child: ChildServer;

before(async () => {
  const endpoint = await collector.listen();
  dataDir = await mkdtemp(join(tmpdir(), 'progressdb-telemetry-'));
  child = await spawnServer(dataDir, {
    PROGRESSDB_METRICS_LISTEN: '127.0.0.1:0',
    PROGRESSDB_DURABILITY: 'os',
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${endpoint}/v1/traces`,
    OTEL_BSP_SCHEDULE_DELAY: '20',
    OTEL_METRICS_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json',
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${endpoint}/v1/metrics`,
    OTEL_METRIC_EXPORT_INTERVAL: '100',
  });
});

after(async () => {
  await child.stop('SIGKILL');
  await collector.close();
  await rm(dataDir, { recursive: true, force: true });
});

test('npm start: gRPC server spans with a group-commit child reach the OTLP collector', async () => {
  const api = connect(child.address, {
    authorization: `Bearer ${TEST_KEYS.backend}`,
    'x-user-id': 'alice',
  });
  await api.threads.createThread({ threadId: 'otlp', title: 'spans' });
  const rpc = await collector.find(
    (span) => span.name === 'grpc.progressdb.v1.ThreadService/CreateThread' && span.kind === 2,
  );
  assert.equal(attribute(rpc, 'rpc.method'), 'CreateThread');
  assert.equal(attribute(rpc, 'rpc.grpc.status_code'), grpc.status.OK);
  const commit = await collector.find(
    (span) => span.name === 'progressdb.group_commit' && span.parentSpanId === rpc.spanId,
  );
  assert.equal(commit.traceId, rpc.traceId);
  assert.equal(attribute(commit, 'progressdb.group_commit.commands'), 1);

  const url = /"url":"([^"]+)"/.exec(child.lines.find((line) => line.includes('metrics on')) ?? '');
  assert.ok(url?.[1], 'the server logs where it serves metrics');
  const text = await (await fetch(url[1])).text();
  assert.match(
    text,
    /^progressdb_rpc_server_duration_seconds_count\{rpc_service="progressdb.v1.ThreadService",rpc_method="CreateThread",rpc_grpc_status="OK"\} 1$/m,
  );
  assert.match(text, /^progressdb_group_commit_write_seconds_count\{[^}]*\} [1-9]/m);
  assert.match(text, /^progressdb_tail_subscribers\{progressdb_tail_kind="thread"\} 0$/m);
  api.close();
});

test('npm start: with OTEL_METRICS_EXPORTER=otlp the metrics reach the collector too', async () => {
  const api = connect(child.address, {
    authorization: `Bearer ${TEST_KEYS.backend}`,
    'x-user-id': 'alice',
  });
  await api.messages.appendMessage({
    threadId: 'otlp-m',
    createThread: true,
    role: 'user',
    body: 1,
  });
  await collector.metric('progressdb.rpc.server.duration_seconds');
  await collector.metric('progressdb.group_commit.events');
  api.close();
});

test('health: every service and the server go NOT_SERVING when shutdown begins', async () => {
  const services = [
    '',
    'progressdb.v1.ThreadService',
    'progressdb.v1.MessageService',
    'progressdb.v1.TailService',
    'progressdb.v1.AuthService',
    'progressdb.v1.AdminService',
  ];
  const health = healthClient(child.address);
  const watches = services.map((service) => {
    const statuses: string[] = [];
    const stream = health.watch({ service });
    stream.on('error', () => undefined);
    const status = (wanted: string): Promise<void> =>
      new Promise((resolve) => {
        if (statuses.includes(wanted)) resolve();
        stream.on('data', ({ status: next }: { status: string }) => {
          if (next === wanted) resolve();
        });
      });
    stream.on('data', ({ status: next }: { status: string }) => statuses.push(next));
    return { stream, status };
  });
  await Promise.all(watches.map((watch) => watch.status('SERVING')));
  const stopped = child.stop('SIGTERM');
  await Promise.all(watches.map((watch) => watch.status('NOT_SERVING')));
  assert.deepEqual(await stopped, { code: 0, signal: null });
  health.close();
});

test('npm start: an OTLP protocol the build cannot export is one clear line and exit 1', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'progressdb-otlp-grpc-'));
  try {
    // The test's own PROGRESSDB_*, OTEL_* and NODE_OPTIONS would change what the child does.
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(
        ([name]) =>
          !name.startsWith('PROGRESSDB_') && !name.startsWith('OTEL_') && name !== 'NODE_OPTIONS',
      ),
    );
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', PRELOAD, MAIN], {
      env: {
        ...inherited,
        PROGRESSDB_DATA_DIR: dataDir,
        PROGRESSDB_LISTEN: '127.0.0.1:0',
        PROGRESSDB_METRICS_LISTEN: 'off',
        OTEL_METRICS_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'grpc',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // Should it start after all, it is stopped: the test fails rather than hangs.
    const deadline = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const [code] = (await once(child, 'exit').finally(() => clearTimeout(deadline))) as [
      number | null,
    ];
    assert.equal(code, 1, stderr);
    assert.equal(
      stderr.trim().split('\n').at(-1),
      'progressdb failed to start: OTLP metrics over "grpc" are not supported: set ' +
        'OTEL_EXPORTER_OTLP_METRICS_PROTOCOL to http/protobuf or http/json',
    );
    assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
    assert.doesNotMatch(stdout, /listening/);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
