import type { BenchConfig } from './bench-config.js';
import { formatNumber, type ResultRow, type ServerKind, toRow } from './bench-report.js';
import { runLoad } from './load-run.js';
import { prefill } from './prefill.js';
import { appendThreadIds, bodyJsonBytes } from './request-payloads.js';
import type { LoadKind } from './worker-protocol.js';

const SCENARIO_SHAPES = {
  appendMessage: { key: 'append', scenario: 'AppendMessage', unit: 'calls/s' },
  appendMessages: { key: 'batch', scenario: 'AppendMessages x100', unit: 'messages/s' },
  listMessages: { key: 'list', scenario: 'ListMessages x50', unit: 'pages/s' },
} as const;

/** The PostgreSQL names of the same work. */
const POSTGRES_SCENARIOS: Record<LoadKind, string> = {
  appendMessage: 'INSERT, 1 row per transaction',
  appendMessages: 'INSERT, 100 rows per transaction',
  listMessages: 'SELECT newest 50',
};

/** Where the load goes. */
export interface UnaryTarget {
  /** `host:port` (gRPC) or a PostgreSQL connection string. */
  address: string;
  pid: number;
  /** Every process of the server, when it has several. */
  pids?: () => number[];
  /** The load-worker program for this server (default `load-worker.ts`). */
  workerScript?: string;
}

/** What every unary scenario needs. */
export interface UnaryContext {
  config: BenchConfig;
  benchDir: string;
  cores: number;
  backendKey: string;
  userId: string;
  listThreadId: string;
}

/** One closed-loop figure of `kind` against `target`. */
export async function measure(
  context: UnaryContext,
  kind: LoadKind,
  target: UnaryTarget,
  label: { server: ServerKind; durability: string },
  listHeadSeq = 0n,
  listLowSeq = 1n,
): Promise<ResultRow> {
  const { config } = context;
  const concurrency = {
    appendMessage: config.appendConcurrency,
    appendMessages: config.batchConcurrency,
    listMessages: config.listConcurrency,
  }[kind];
  const processes = Math.min(config.processes, concurrency);
  const shape = SCENARIO_SHAPES[kind];
  const scenario = label.server === 'postgres' ? POSTGRES_SCENARIOS[kind] : shape.scenario;
  const client = label.server === 'postgres' ? 'pg' : config.client;
  process.stdout.write(
    `  ${scenario} on ${label.server} (${label.durability}), ${concurrency} in flight over ${processes} processes ... `,
  );
  const result = await runLoad({
    benchDir: context.benchDir,
    task: {
      kind,
      client: config.client,
      address: target.address,
      connections: config.connections,
      apiKey: context.backendKey,
      userId: context.userId,
      bodyBytes: config.bodyBytes,
      threadIds: appendThreadIds(config.threads),
      batchSize: config.batchSize,
      listThreadId: context.listThreadId,
      listHeadSeq: listHeadSeq.toString(),
      listLowSeq: listLowSeq.toString(),
      pageSize: config.pageSize,
    },
    processes,
    concurrency,
    warmupMs: config.warmupMs,
    durationMs: config.durationMs,
    serverPid: target.pid,
    ...(target.pids ? { serverPids: target.pids } : {}),
    ...(target.workerScript ? { workerScript: target.workerScript } : {}),
  });
  const row = toRow(
    {
      ...shape,
      scenario,
      ...label,
      client,
      processes,
      connectionsPerProcess:
        label.server === 'postgres'
          ? Math.ceil(concurrency / processes)
          : Math.min(config.connections, Math.ceil(concurrency / processes)),
      concurrency,
      itemsPerCall: { appendMessage: 1, appendMessages: config.batchSize, listMessages: 1 }[kind],
      bodyJsonBytes: bodyJsonBytes(config.bodyBytes),
    },
    result,
    context.cores,
  );
  const errors = Object.values(row.errors).reduce((sum, n) => sum + n, 0);
  console.log(
    `${formatNumber(row.rate)} ${row.unit}${errors > 0 ? `, ${errors} errors (${row.firstError})` : ''}`,
  );
  return row;
}

/** Fills the `ListMessages` thread; returns its head seq (the creation event is revision 1). */
export async function prefillListThread(context: UnaryContext, address: string): Promise<bigint> {
  const written = await prefill({
    address,
    headers: { authorization: `Bearer ${context.backendKey}`, 'x-user-id': context.userId },
    threadIds: [context.listThreadId],
    total: context.config.listPrefill,
    bodyBytes: context.config.bodyBytes,
    inFlight: 4,
  });
  return BigInt(written + 1);
}
