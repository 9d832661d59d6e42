/**
 * `npm run bench`: measures ProgressDB against a bare grpc-js echo server on this machine, prints a
 * summary and writes `bench/results/<ISO time>.json`. Settings: `BENCH_*` variables or flags (see
 * `bench-config.ts` and `bench/README.md`).
 */
import * as grpc from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageServiceClient, NewMessage } from '../src/gen/progressdb/v1/message_service.js';
import { type BenchConfig, loadBenchConfig } from './bench-config.js';
import { formatSummary, type ResultRow, type TargetCheck, toRow } from './bench-report.js';
import { type LoadRunResult, runLoad } from './load-run.js';
import { appendThreadIds, bodyJsonBytes, makeBody } from './request-payloads.js';
import { type ServerProcess, startEchoServer, startProgressDb } from './server-process.js';
import type { LoadKind } from './worker-protocol.js';

const benchDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(benchDir, '..');
const BACKEND_KEY = 'bench-backend-key-0123456789';
const ADMIN_KEY = 'bench-admin-key-0123456789';
const USER_ID = 'bench-user';
const LIST_THREAD_ID = 'bench-list';

/** PostgreSQL's durable single-row inserts on this machine (DESIGN.md), times 1.25. */
const APPEND_ABSOLUTE_TARGET = 1.25 * 12_400;

const SCENARIO_SHAPES = {
  appendMessage: { scenario: 'AppendMessage', unit: 'calls/s' },
  appendMessages: { scenario: 'AppendMessages', unit: 'messages/s' },
  listMessages: { scenario: 'ListMessages', unit: 'pages/s' },
} as const;

async function measure(
  config: BenchConfig,
  kind: LoadKind,
  server: ServerProcess,
  label: Pick<ResultRow, 'server' | 'durability'>,
  listHeadSeq = 0n,
): Promise<ResultRow> {
  const concurrency = {
    appendMessage: config.appendConcurrency,
    appendMessages: config.batchConcurrency,
    listMessages: config.listConcurrency,
  }[kind];
  const processes = Math.min(config.processes, concurrency);
  process.stdout.write(
    `  ${SCENARIO_SHAPES[kind].scenario} on ${label.server} (${label.durability}), ` +
      `${concurrency} in flight over ${processes} processes ... `,
  );
  const result: LoadRunResult = await runLoad({
    benchDir,
    task: {
      kind,
      client: config.client,
      address: server.address,
      connections: config.connections,
      apiKey: BACKEND_KEY,
      userId: USER_ID,
      bodyBytes: config.bodyBytes,
      threadIds: appendThreadIds(config.threads),
      batchSize: config.batchSize,
      listThreadId: LIST_THREAD_ID,
      listHeadSeq: listHeadSeq.toString(),
      pageSize: config.pageSize,
    },
    processes,
    concurrency,
    warmupMs: config.warmupMs,
    durationMs: config.durationMs,
    serverPid: server.pid,
  });
  const row = toRow(
    {
      ...SCENARIO_SHAPES[kind],
      ...label,
      client: config.client,
      processes,
      connectionsPerProcess: Math.min(config.connections, Math.ceil(concurrency / processes)),
      concurrency,
      itemsPerCall: { appendMessage: 1, appendMessages: config.batchSize, listMessages: 1 }[kind],
      bodyJsonBytes: bodyJsonBytes(config.bodyBytes),
    },
    result,
    cpus().length,
  );
  console.log(`${Math.round(row.rate).toLocaleString('en-US')} ${row.unit}`);
  return row;
}

/** Fills the `ListMessages` thread through the typed client; returns the head seq. */
async function prefillListThread(config: BenchConfig, address: string): Promise<bigint> {
  const client = new MessageServiceClient(address, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${BACKEND_KEY}`);
  metadata.set('x-user-id', USER_ID);
  let head = 0n;
  try {
    for (let written = 0; written < config.listPrefill; written += 100) {
      const count = Math.min(100, config.listPrefill - written);
      const messages = Array.from({ length: count }, (_, i) =>
        NewMessage.fromPartial({ role: 'user', body: makeBody(config.bodyBytes, written + i) }),
      );
      head = await new Promise<bigint>((done, fail) => {
        client.appendMessages(
          {
            threadId: LIST_THREAD_ID,
            messages,
            createThread: true,
            requestId: '',
            expectedRevision: undefined,
          },
          metadata,
          (err, response) => (err ? fail(err) : done(response.revision)),
        );
      });
    }
  } finally {
    client.close();
  }
  return head;
}

async function measureProgressDb(config: BenchConfig, durability: string): Promise<ResultRow[]> {
  console.log(`ProgressDB, PROGRESSDB_DURABILITY=${durability}:`);
  const server = await startProgressDb({
    repoRoot,
    durability,
    backendKey: BACKEND_KEY,
    adminKey: ADMIN_KEY,
    startTimeoutMs: 60_000,
    cpuProfileDir: config.serverCpuProf
      ? resolve(repoRoot, config.resultsDir, 'profiles')
      : undefined,
  });
  const label = { server: 'progressdb', durability } as const;
  const rows: ResultRow[] = [];
  try {
    if (config.scenarios.includes('append')) {
      rows.push(await measure(config, 'appendMessage', server, label));
    }
    if (config.scenarios.includes('batch')) {
      rows.push(await measure(config, 'appendMessages', server, label));
    }
    if (config.scenarios.includes('list')) {
      const head = await prefillListThread(config, server.address);
      rows.push(await measure(config, 'listMessages', server, label, head));
    }
  } finally {
    await server.stop();
  }
  return rows;
}

function checkTargets(rows: ResultRow[], config: BenchConfig): TargetCheck[] {
  const find = (scenario: ResultRow['scenario'], server: ResultRow['server'], durability: string) =>
    rows.find((r) => r.scenario === scenario && r.server === server && r.durability === durability);
  const echo = find('AppendMessage', 'echo', '-');
  return config.durabilities.flatMap((durability) => {
    const append = find('AppendMessage', 'progressdb', durability);
    const check = (name: string, value: number | undefined, target: number): TargetCheck => ({
      name: `${name} [${durability}]`,
      value,
      target,
      met: value === undefined ? undefined : value >= target,
    });
    return [
      check(
        'AppendMessage / echo ratio',
        append && echo ? append.rate / echo.rate : undefined,
        0.6,
      ),
      check('AppendMessage calls/s (1.25 x PostgreSQL)', append?.rate, APPEND_ABSOLUTE_TARGET),
      check(
        'AppendMessages messages/s',
        find('AppendMessages', 'progressdb', durability)?.rate,
        100_000,
      ),
      check('ListMessages pages/s', find('ListMessages', 'progressdb', durability)?.rate, 6_000),
    ];
  });
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: repoRoot,
      encoding: 'utf8',
    }).trim();
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const config = loadBenchConfig(process.argv.slice(2), process.env);
  const startedAt = new Date();
  console.log(
    `ProgressDB bench: ${cpus().length} cores, Node ${process.version}, client ${config.client}, ` +
      `${config.processes} load processes x ${config.connections} connections, ` +
      `${config.warmupMs} ms warm-up + ${config.durationMs} ms per figure, ` +
      `${bodyJsonBytes(config.bodyBytes)}-byte JSON bodies, ${config.threads} threads`,
  );
  const rows: ResultRow[] = [];
  if (config.scenarios.includes('append')) {
    console.log('Baseline: bare grpc-js echo server:');
    const echo = await startEchoServer(benchDir);
    try {
      rows.push(await measure(config, 'appendMessage', echo, { server: 'echo', durability: '-' }));
    } finally {
      await echo.stop();
    }
  }
  let skipped: string | undefined;
  if (config.echoOnly) skipped = 'echo only (--echo-only)';
  else if (!existsSync(join(repoRoot, 'src/main.ts'))) skipped = 'src/main.ts does not exist yet';
  if (skipped === undefined) {
    for (const durability of config.durabilities)
      rows.push(...(await measureProgressDb(config, durability)));
  } else {
    console.log(`ProgressDB not measured: ${skipped}`);
  }

  const checks = skipped === undefined ? checkTargets(rows, config) : [];
  console.log(`\n${formatSummary(rows, checks)}`);
  const resultsDir = resolve(repoRoot, config.resultsDir);
  await mkdir(resultsDir, { recursive: true });
  const file = join(
    resultsDir,
    `${startedAt
      .toISOString()
      .replace(/:/g, '-')
      .replace(/\.\d+Z$/, 'Z')}.json`,
  );
  const machine = { cores: cpus().length, cpuModel: cpus()[0]?.model, node: process.version };
  const output = {
    startedAt: startedAt.toISOString(),
    commit: gitCommit(),
    machine,
    config,
    skipped,
    rows,
    checks,
  };
  await writeFile(file, `${JSON.stringify(output, null, 2)}\n`);
  console.log(`\nWritten to ${file}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
