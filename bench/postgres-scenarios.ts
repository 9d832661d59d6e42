import pg from 'pg';
import type { Scenario } from './bench-config.js';
import { formatNumber, type ResultRow, tailRow } from './bench-report.js';
import type { PostgresCluster } from './postgres.js';
import { bodyJsonBytes, makeBody } from './request-payloads.js';
import { runTails } from './tail-run.js';
import { measure, type UnaryContext } from './unary-scenarios.js';

/**
 * Fills the listed thread as the most recently active one (after the inserts of the other rows),
 * with contiguous ids, and refreshes the planner's statistics; returns its lowest and highest id.
 */
async function prefillList(
  context: UnaryContext,
  cluster: PostgresCluster,
): Promise<{ low: bigint; head: bigint }> {
  const client = new pg.Client({ connectionString: cluster.connectionString });
  await client.connect();
  try {
    const body = JSON.stringify(makeBody(context.config.bodyBytes));
    const range = await client.query<{ low: string; head: string }>(
      `WITH m AS (
         INSERT INTO messages (thread_id, author_id, role, body)
         SELECT $1, $2, 'user', $3::jsonb FROM generate_series(1, $4) RETURNING id)
       SELECT min(id) AS low, max(id) AS head FROM m`,
      [context.listThreadId, context.userId, body, context.config.listPrefill],
    );
    await client.query('ANALYZE messages');
    return { low: BigInt(range.rows[0]?.low ?? 1), head: BigInt(range.rows[0]?.head ?? 0) };
  } finally {
    await client.end();
  }
}

/**
 * The PostgreSQL rows: the same appends, pages and tails as ProgressDB's, with the same
 * concurrency, through `pg-worker.ts`. Durable like `sync` (fsync and synchronous_commit on).
 */
export async function measurePostgres(
  context: UnaryContext,
  cluster: PostgresCluster,
  scenarios: readonly Scenario[],
): Promise<ResultRow[]> {
  const target = {
    address: cluster.connectionString,
    pid: cluster.pids()[0] ?? 0,
    pids: () => cluster.pids(),
    workerScript: 'pg-worker.ts',
  };
  const label = { server: 'postgres', durability: 'sync' } as const;
  const rows: ResultRow[] = [];
  if (scenarios.includes('append'))
    rows.push(await measure(context, 'appendMessage', target, label));
  if (scenarios.includes('batch'))
    rows.push(await measure(context, 'appendMessages', target, label));
  if (scenarios.includes('list')) {
    const { low, head } = await prefillList(context, cluster);
    rows.push(await measure(context, 'listMessages', target, label, head, low));
  }
  if (scenarios.includes('tail-latency')) {
    for (const tails of context.config.latencyTails) {
      process.stdout.write(
        `  LISTEN/NOTIFY, ${tails} listeners, ${context.config.tailRate} inserts/s on postgres ... `,
      );
      const result = await runTails({
        benchDir: context.benchDir,
        serverPid: target.pid,
        serverPids: () => cluster.pids(),
        workerScript: 'pg-worker.ts',
        tails: {
          address: cluster.connectionString,
          headers: {},
          connections: 1,
          mode: 'live',
          list: Array.from({ length: tails }, () => ({ threadId: 'bench-latency' })),
          processes: context.config.tailProcesses,
        },
        appends: {
          address: cluster.connectionString,
          headers: { authorization: '', 'x-user-id': context.userId },
          connections: 1,
          threadIds: ['bench-latency'],
          ratePerSec: context.config.tailRate,
          concurrency: 64,
          bodyBytes: context.config.bodyBytes,
          processes: 1,
        },
        warmupMs: context.config.warmupMs,
        durationMs: context.config.durationMs,
      });
      const row = tailRow(
        {
          key: `tail-latency-${tails}`,
          scenario: `LISTEN/NOTIFY, ${tails} listeners`,
          ...label,
          unit: 'ms p99',
          client: 'pg',
          processes: Math.min(context.config.tailProcesses, tails),
          connectionsPerProcess: Math.ceil(tails / context.config.tailProcesses),
          concurrency: tails,
          itemsPerCall: 1,
          bodyJsonBytes: bodyJsonBytes(context.config.bodyBytes),
        },
        result,
        result.p99Us / 1000,
        context.cores,
        `inserts+NOTIFY ${formatNumber(result.appendsPerSec)}/s (commit p50/p99 ` +
          `${(result.appendP50Us / 1000).toFixed(2)}/${(result.appendP99Us / 1000).toFixed(2)} ms` +
          `${result.lateAppends > 0 ? `, ${result.lateAppends} issued late` : ''}), ` +
          `${formatNumber(result.deliveriesPerSec)} notifications/s`,
      );
      console.log(
        `p99 ${row.p99Ms.toFixed(2)} ms, inserts ${formatNumber(result.appendsPerSec)}/s, ${formatNumber(result.deliveriesPerSec)} notifications/s`,
      );
      rows.push(row);
    }
  }
  return rows;
}
