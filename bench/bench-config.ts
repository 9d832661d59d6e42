import { parseArgs } from 'node:util';
import type { ClientKind } from './worker-protocol.js';

/**
 * The scenarios `npm run bench` can run. Each runs its baselines with it: `append` the grpc-js echo
 * server, `batch`/`list`/`catchup` raw RocksDB, the tail scenarios the grpc-js streaming server;
 * `rocksdb` runs the raw RocksDB figures alone; `postgres` adds PostgreSQL rows for the others.
 */
export const SCENARIOS = [
  'append',
  'batch',
  'list',
  'rocksdb',
  'tail-latency',
  'fanout',
  'catchup',
  'memory',
  'postgres',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** Everything the benchmark can be told; each field is a `BENCH_*` variable and a `--flag`. */
export interface BenchConfig {
  /** Measured time of each scenario, ms (default 6000). */
  durationMs: number;
  /** Load before the measured window, ms (default 1500). */
  warmupMs: number;
  /** Load-generator processes (default 4). */
  processes: number;
  /** HTTP/2 connections per process (default 2). */
  connections: number;
  /** `grpc-js` channels (default) or the thinner plain `http2` client. */
  client: ClientKind;
  /** Total calls in flight for `AppendMessage`, across all processes (default 64). */
  appendConcurrency: number;
  /** Total calls in flight for `AppendMessages` (default 16). */
  batchConcurrency: number;
  /** Messages per `AppendMessages` call (default 100). */
  batchSize: number;
  /** Total calls in flight for `ListMessages` (default 16). */
  listConcurrency: number;
  /** Messages per page (default 50). */
  pageSize: number;
  /** Messages pre-filled into the `ListMessages` thread (default 5000). */
  listPrefill: number;
  /** Threads the appends spread over, one picked at random per call (default 1000). */
  threads: number;
  /** Size of each JSON body, bytes (default 300). */
  bodyBytes: number;
  /** Durability modes to run ProgressDB in, one row each (default `sync,os`). */
  durabilities: string[];
  /** Scenarios to run (default all: `append,batch,list`); `append` includes the echo baseline. */
  scenarios: Scenario[];
  /** Skip the real server and measure only the echo baseline (default false). */
  echoOnly: boolean;
  /** Where the JSON results go (default `bench/results`). */
  resultsDir: string;
  /** Run the server under `--cpu-prof`, profiles into `<resultsDir>/profiles` (default false). */
  serverCpuProf: boolean;
  /** Appends per second of the tail-latency scenario (default 2000). */
  tailRate: number;
  /** Tails of the tail-latency scenario, one row each (default `10,100`). */
  latencyTails: number[];
  /** Tails of the fan-out scenario (default 1000). */
  fanoutTails: number;
  /** Appends per second of the fan-out scenario (default 200: 200k deliveries/s asked for). */
  fanoutRate: number;
  /** Events the catch-up tails replay (default 50000). */
  catchupEvents: number;
  /** Tails replaying at once in the catch-up scenario, one row each (default `1,8`). */
  catchupTails: number[];
  /** Messages written before the memory figure (default 1000000). */
  memoryMessages: number;
  /** Tails open for the memory figure (default 1000). */
  memoryTails: number;
  /** Processes holding tails (default 2). */
  tailProcesses: number;
  /** HTTP/2 connections per tail process (default 4). */
  tailConnections: number;
}

const NUMBER_FIELDS = {
  durationMs: ['duration-ms', 'BENCH_DURATION_MS', 6000],
  warmupMs: ['warmup-ms', 'BENCH_WARMUP_MS', 1500],
  processes: ['processes', 'BENCH_PROCESSES', 2],
  connections: ['connections', 'BENCH_CONNECTIONS', 2],
  appendConcurrency: ['append-concurrency', 'BENCH_APPEND_CONCURRENCY', 64],
  batchConcurrency: ['batch-concurrency', 'BENCH_BATCH_CONCURRENCY', 16],
  batchSize: ['batch-size', 'BENCH_BATCH_SIZE', 100],
  listConcurrency: ['list-concurrency', 'BENCH_LIST_CONCURRENCY', 16],
  pageSize: ['page-size', 'BENCH_PAGE_SIZE', 50],
  listPrefill: ['list-prefill', 'BENCH_LIST_PREFILL', 5000],
  threads: ['threads', 'BENCH_THREADS', 1000],
  bodyBytes: ['body-bytes', 'BENCH_BODY_BYTES', 300],
  tailRate: ['tail-rate', 'BENCH_TAIL_RATE', 2000],
  fanoutTails: ['fanout-tails', 'BENCH_FANOUT_TAILS', 1000],
  fanoutRate: ['fanout-rate', 'BENCH_FANOUT_RATE', 200],
  catchupEvents: ['catchup-events', 'BENCH_CATCHUP_EVENTS', 50_000],
  memoryMessages: ['memory-messages', 'BENCH_MEMORY_MESSAGES', 1_000_000],
  memoryTails: ['memory-tails', 'BENCH_MEMORY_TAILS', 1000],
  tailProcesses: ['tail-processes', 'BENCH_TAIL_PROCESSES', 2],
  tailConnections: ['tail-connections', 'BENCH_TAIL_CONNECTIONS', 4],
} as const;

const STRING_FIELDS = {
  client: ['client', 'BENCH_CLIENT', 'http2'],
  durabilities: ['durability', 'BENCH_DURABILITY', 'sync,os'],
  scenarios: ['scenarios', 'BENCH_SCENARIOS', SCENARIOS.join(',')],
  resultsDir: ['results-dir', 'BENCH_RESULTS_DIR', 'bench/results'],
  latencyTails: ['latency-tails', 'BENCH_LATENCY_TAILS', '10,100'],
  catchupTails: ['catchup-tails', 'BENCH_CATCHUP_TAILS', '1,8'],
} as const;

const BOOLEAN_FLAGS = {
  'echo-only': { type: 'boolean' },
  'server-cpu-prof': { type: 'boolean' },
} as const;

/**
 * Reads the configuration: defaults < `BENCH_*` environment < `--flags`.
 * @throws naming every bad value at once.
 */
export function loadBenchConfig(argv: string[], env: NodeJS.ProcessEnv): BenchConfig {
  const options = Object.fromEntries(
    [...Object.values(NUMBER_FIELDS), ...Object.values(STRING_FIELDS)].map(([flag]) => [
      flag,
      { type: 'string' as const },
    ]),
  );
  const values: Record<string, string | boolean | undefined> = parseArgs({
    args: argv,
    options: { ...options, ...BOOLEAN_FLAGS },
    strict: true,
  }).values;
  const problems: string[] = [];
  const raw = (flag: string, envName: string, fallback: string | number): string => {
    const value = values[flag];
    return typeof value === 'string' ? value : (env[envName] ?? String(fallback));
  };
  const flag = (name: keyof typeof BOOLEAN_FLAGS, envName: string): boolean => {
    const value = values[name];
    return typeof value === 'boolean' ? value : ['1', 'true', 'yes'].includes(env[envName] ?? '');
  };

  const numbers = Object.fromEntries(
    Object.entries(NUMBER_FIELDS).map(([key, [flag, envName, fallback]]) => {
      const value = Number(raw(flag, envName, fallback));
      if (!Number.isInteger(value) || value < 1)
        problems.push(`--${flag}/${envName}: not a positive integer`);
      return [key, value];
    }),
  ) as Record<keyof typeof NUMBER_FIELDS, number>;

  const text = (key: keyof typeof STRING_FIELDS): string => {
    const [flag, envName, fallback] = STRING_FIELDS[key];
    return raw(flag, envName, fallback);
  };
  const client = text('client');
  if (client !== 'grpc-js' && client !== 'http2')
    problems.push('--client/BENCH_CLIENT: grpc-js or http2');
  const durabilities = list(text('durabilities'));
  for (const mode of durabilities) {
    if (mode !== 'sync' && mode !== 'os')
      problems.push(`--durability/BENCH_DURABILITY: unknown "${mode}"`);
  }
  const scenarios = list(text('scenarios'));
  for (const scenario of scenarios) {
    if (!(SCENARIOS as readonly string[]).includes(scenario)) {
      problems.push(`--scenarios/BENCH_SCENARIOS: unknown "${scenario}" (${SCENARIOS.join(', ')})`);
    }
  }
  const counts = (key: 'latencyTails' | 'catchupTails'): number[] => {
    const values = list(text(key)).map(Number);
    if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v < 1)) {
      problems.push(`--${STRING_FIELDS[key][0]}/${STRING_FIELDS[key][1]}: positive integers`);
    }
    return values;
  };
  const latencyTails = counts('latencyTails');
  const catchupTails = counts('catchupTails');
  if (problems.length > 0) throw new Error(`bad benchmark settings:\n  ${problems.join('\n  ')}`);
  return {
    ...numbers,
    client: client as ClientKind,
    durabilities,
    scenarios: scenarios as Scenario[],
    echoOnly: flag('echo-only', 'BENCH_ECHO_ONLY'),
    resultsDir: text('resultsDir'),
    serverCpuProf: flag('server-cpu-prof', 'BENCH_SERVER_CPU_PROF'),
    latencyTails,
    catchupTails,
  };
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}
