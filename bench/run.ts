/**
 * `npm run bench`: every performance target of DESIGN.md measured on this machine beside its
 * baseline in the same run (grpc-js unary echo, grpc-js streaming, raw RocksDB, PostgreSQL), with a
 * summary table at the end, also written to `bench/results/<YYYY-MM-DD>.json`. Settings: `BENCH_*`
 * variables or flags (see `bench-config.ts` and `bench/README.md`).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchConfig, loadBenchConfig, type Scenario, SCENARIOS } from './bench-config.js';
import { formatSummary, type ResultRow } from './bench-report.js';
import { measurePostgres } from './postgres-scenarios.js';
import { type PostgresCluster, startPostgres } from './postgres.js';
import { bodyJsonBytes } from './request-payloads.js';
import { measureRocksDb } from './rocksdb-scenario.js';
import { type ServerProcess, startEchoServer, startProgressDb } from './server-process.js';
import {
  catchup,
  fanout,
  fillCatchupThread,
  memory,
  tailLatency,
  type TailContext,
} from './tail-scenarios.js';
import { checkTargets, compare } from './targets.js';
import { measure, prefillListThread, type UnaryContext } from './unary-scenarios.js';

const benchDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(benchDir, '..');
const BACKEND_KEY = 'bench-backend-key-0123456789';
const ADMIN_KEY = 'bench-admin-key-0123456789';
const USER_ID = 'bench-user';
const LIST_THREAD_ID = 'bench-list';
const TAIL_SCENARIOS: readonly Scenario[] = ['tail-latency', 'fanout', 'catchup', 'memory'];

type Context = UnaryContext & TailContext;

function startServer(config: BenchConfig, durability: string): Promise<ServerProcess> {
  return startProgressDb({
    repoRoot,
    durability,
    backendKey: BACKEND_KEY,
    adminKey: ADMIN_KEY,
    startTimeoutMs: 60_000,
    cpuProfileDir: config.serverCpuProf
      ? resolve(repoRoot, config.resultsDir, 'profiles')
      : undefined,
  });
}

/** The grpc-js streaming baseline: the tail scenarios against `stream-echo-server.ts`. */
async function measureStreamEcho(context: Context): Promise<ResultRow[]> {
  const { config } = context;
  const has = (s: Scenario): boolean => config.scenarios.includes(s);
  console.log('Baseline: bare grpc-js streaming server:');
  const rows: ResultRow[] = [];
  const label = { server: 'stream-echo', durability: '-' } as const;
  const start = () =>
    startEchoServer(benchDir, 'stream-echo-server.ts', {
      BENCH_ECHO_REPLAY_EVENTS: String(config.catchupEvents),
    });
  let server = await start();
  try {
    if (has('tail-latency')) {
      for (const tails of config.latencyTails)
        rows.push(await tailLatency(context, server, label, tails));
    }
    if (has('fanout')) rows.push(await fanout(context, server, label));
    if (has('catchup')) {
      for (const tails of config.catchupTails) {
        rows.push(await catchup(context, server, label, tails, 'bench-replay'));
      }
    }
    if (has('memory')) {
      await server.stop();
      server = await start();
      rows.push(await memory(context, server, label, 0));
    }
  } finally {
    await server.stop();
  }
  return rows;
}

async function measureProgressDb(
  context: Context,
  durability: string,
  first: boolean,
): Promise<ResultRow[]> {
  const { config } = context;
  const has = (s: Scenario): boolean => config.scenarios.includes(s);
  console.log(`ProgressDB, PROGRESSDB_DURABILITY=${durability}:`);
  const label = { server: 'progressdb', durability } as const;
  const rows: ResultRow[] = [];
  const server = await startServer(config, durability);
  const target = { address: server.address, pid: server.pid };
  try {
    if (has('append')) rows.push(await measure(context, 'appendMessage', target, label));
    if (has('batch')) rows.push(await measure(context, 'appendMessages', target, label));
    if (has('list')) {
      const head = await prefillListThread(context, server.address);
      rows.push(await measure(context, 'listMessages', target, label, head));
    }
    if (has('tail-latency')) {
      for (const tails of config.latencyTails)
        rows.push(await tailLatency(context, server, label, tails));
    }
    if (has('fanout')) rows.push(await fanout(context, server, label));
    // Replays read what is stored: the durability mode does not change them, so once.
    if (has('catchup') && first) {
      const threadId = await fillCatchupThread(context, server);
      for (const tails of config.catchupTails) {
        rows.push(await catchup(context, server, label, tails, threadId));
      }
    }
  } finally {
    await server.stop();
  }
  if (has('memory') && first) {
    const fresh = await startServer(config, durability);
    try {
      rows.push(await memory(context, fresh, label, config.memoryMessages));
    } finally {
      await fresh.stop();
    }
  }
  return rows;
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
  const has = (s: Scenario): boolean => config.scenarios.includes(s);
  const cores = cpus().length;
  const context: Context = {
    config,
    benchDir,
    cores,
    backendKey: BACKEND_KEY,
    userId: USER_ID,
    listThreadId: LIST_THREAD_ID,
  };
  const startedAt = new Date();
  console.log(
    `ProgressDB bench: ${cores} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}, ` +
      `client ${config.client}, ${config.processes} load processes x ${config.connections} connections, ` +
      `${config.warmupMs} ms warm-up + ${config.durationMs} ms per figure, ` +
      `${bodyJsonBytes(config.bodyBytes)}-byte JSON bodies; scenarios ${config.scenarios.join(',')}`,
  );
  const rows: ResultRow[] = [];
  const skipped: Record<string, string> = {};

  let postgres: PostgresCluster | undefined;
  if (has('postgres')) {
    try {
      postgres = await startPostgres();
      console.log(`PostgreSQL ${postgres.version} on ${postgres.connectionString}`);
    } catch (err) {
      skipped.postgres = `PostgreSQL not measured: ${(err as Error).message}`;
      console.log(skipped.postgres);
    }
  }
  try {
    if (has('append')) {
      console.log('Baseline: bare grpc-js echo server:');
      const echo = await startEchoServer(benchDir);
      try {
        rows.push(
          await measure(context, 'appendMessage', echo, { server: 'echo', durability: '-' }),
        );
      } finally {
        await echo.stop();
      }
    }
    if (TAIL_SCENARIOS.some(has)) rows.push(...(await measureStreamEcho(context)));
    if (['rocksdb', 'batch', 'list', 'catchup'].some((s) => has(s as Scenario))) {
      console.log('Baseline: raw RocksDB through @nxtedition/rocksdb:');
      for (const durability of config.durabilities) {
        rows.push(...(await measureRocksDb(config, benchDir, durability, cores)));
      }
    }
    const progressDbScenarios: readonly Scenario[] = ['append', 'batch', 'list', ...TAIL_SCENARIOS];
    if (config.echoOnly) skipped.progressdb = 'echo only (--echo-only)';
    else if (!existsSync(join(repoRoot, 'src/main.ts')))
      skipped.progressdb = 'src/main.ts does not exist yet';
    else if (progressDbScenarios.some(has)) {
      for (const [i, durability] of config.durabilities.entries()) {
        rows.push(...(await measureProgressDb(context, durability, i === 0)));
      }
    }
    if (postgres) {
      console.log('PostgreSQL (fsync and synchronous_commit on):');
      // `--scenarios=postgres` alone: every PostgreSQL row; otherwise those of the scenarios listed.
      const comparable: Scenario[] = ['append', 'batch', 'list', 'tail-latency'];
      const listed = comparable.filter(has);
      rows.push(
        ...(await measurePostgres(context, postgres, listed.length > 0 ? listed : comparable)),
      );
    }
  } finally {
    await postgres?.stop();
  }

  compare(rows);
  const checks = checkTargets(rows, config);
  console.log(`\n${formatSummary(rows, checks)}`);
  for (const reason of Object.values(skipped)) console.log(reason);
  const resultsDir = resolve(repoRoot, config.resultsDir);
  await mkdir(resultsDir, { recursive: true });
  // A partial run (some scenarios) is named after them, so it never replaces the day's full run.
  const partial = SCENARIOS.some((scenario) => !config.scenarios.includes(scenario));
  const suffix = partial ? `-${config.scenarios.join('-')}` : '';
  const file = join(resultsDir, `${startedAt.toISOString().slice(0, 10)}${suffix}.json`);
  const machine = {
    cores,
    cpuModel: cpus()[0]?.model,
    memoryBytes: totalmem(),
    node: process.version,
    postgres: postgres?.version,
  };
  const output = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
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
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});
