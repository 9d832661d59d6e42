import { readFileSync } from 'node:fs';
import type { BenchConfig } from './bench-config.js';
import { formatNumber, type ResultRow, type ServerKind, tailRow } from './bench-report.js';
import { prefill } from './prefill.js';
import { appendThreadIds, bodyJsonBytes } from './request-payloads.js';
import type { ServerProcess } from './server-process.js';
import { runTails, type TailRunResult } from './tail-run.js';

/** What every tail scenario needs. */
export interface TailContext {
  config: BenchConfig;
  benchDir: string;
  cores: number;
  backendKey: string;
  userId: string;
}

type Label = { server: ServerKind; durability: string };

function headers(context: TailContext) {
  return { authorization: `Bearer ${context.backendKey}`, 'x-user-id': context.userId };
}

/** Tails act as a backend service (no `x-user-id`): no per-user cap on tails applies. */
function tailHeaders(context: TailContext): Record<string, string> {
  return { authorization: `Bearer ${context.backendKey}` };
}

function base(
  context: TailContext,
  label: Label,
  key: string,
  scenario: string,
  unit: string,
  tails: number,
) {
  return {
    key,
    scenario,
    ...label,
    unit,
    client: 'http2',
    processes: Math.min(context.config.tailProcesses, tails),
    connectionsPerProcess: context.config.tailConnections,
    concurrency: tails,
    itemsPerCall: 1,
    bodyJsonBytes: bodyJsonBytes(context.config.bodyBytes),
  };
}

function report(row: ResultRow): ResultRow {
  const errors = Object.values(row.errors).reduce((sum, n) => sum + n, 0);
  console.log(
    `${formatNumber(row.rate)} ${row.unit}` +
      (row.p99Ms > 0 ? `, p50/p99 ${row.p50Ms.toFixed(2)}/${row.p99Ms.toFixed(2)} ms` : '') +
      (errors > 0 ? `, ${errors} errors (${row.firstError})` : ''),
  );
  return row;
}

function appendNotes(result: TailRunResult): string {
  return (
    `appends ${formatNumber(result.appendsPerSec)}/s (ack p50/p99 ` +
    `${(result.appendP50Us / 1000).toFixed(2)}/${(result.appendP99Us / 1000).toFixed(2)} ms` +
    `${result.lateAppends > 0 ? `, ${result.lateAppends} issued late` : ''}), ` +
    `${formatNumber(result.deliveriesPerSec)} deliveries/s`
  );
}

/** Creates a thread with one message (the stream-echo server needs nothing). */
async function seedThread(
  context: TailContext,
  server: ServerProcess,
  label: Label,
  threadId: string,
): Promise<void> {
  if (label.server !== 'progressdb') return;
  await prefill({
    address: server.address,
    headers: headers(context),
    threadIds: [threadId],
    total: 1,
    bodyBytes: context.config.bodyBytes,
    batchSize: 1,
    inFlight: 1,
  });
}

/** Append → live-tail delivery latency with `tails` tails on one thread, at the configured rate. */
export async function tailLatency(
  context: TailContext,
  server: ServerProcess,
  label: Label,
  tails: number,
): Promise<ResultRow> {
  const { config } = context;
  const threadId = `bench-latency-${tails}`;
  process.stdout.write(
    `  tail latency, ${tails} tails, ${config.tailRate} appends/s on ${label.server} (${label.durability}) ... `,
  );
  await seedThread(context, server, label, threadId);
  const result = await runTails({
    benchDir: context.benchDir,
    serverPid: server.pid,
    tails: {
      address: server.address,
      headers: tailHeaders(context),
      connections: config.tailConnections,
      mode: 'live',
      list: Array.from({ length: tails }, () => ({ threadId })),
      processes: config.tailProcesses,
    },
    appends: {
      address: server.address,
      headers: headers(context),
      connections: 2,
      threadIds: [threadId],
      ratePerSec: config.tailRate,
      concurrency: 256,
      bodyBytes: config.bodyBytes,
      processes: 1,
    },
    warmupMs: config.warmupMs,
    durationMs: config.durationMs,
  });
  const row = tailRow(
    base(context, label, `tail-latency-${tails}`, `tail latency, ${tails} tails`, 'ms p99', tails),
    result,
    result.p99Us / 1000,
    context.cores,
    appendNotes(result),
  );
  return report(row);
}

/** Live fan-out: `fanoutTails` tails on one thread, appends at `fanoutRate`: deliveries/s. */
export async function fanout(
  context: TailContext,
  server: ServerProcess,
  label: Label,
): Promise<ResultRow> {
  const { config } = context;
  const threadId = 'bench-fanout';
  const tails = config.fanoutTails;
  process.stdout.write(
    `  fan-out, ${tails} tails, ${config.fanoutRate} appends/s on ${label.server} (${label.durability}) ... `,
  );
  await seedThread(context, server, label, threadId);
  const result = await runTails({
    benchDir: context.benchDir,
    serverPid: server.pid,
    tails: {
      address: server.address,
      headers: tailHeaders(context),
      connections: config.tailConnections,
      mode: 'live',
      list: Array.from({ length: tails }, () => ({ threadId })),
      processes: config.tailProcesses,
    },
    appends: {
      address: server.address,
      headers: headers(context),
      connections: 1,
      threadIds: [threadId],
      ratePerSec: config.fanoutRate,
      concurrency: 64,
      bodyBytes: config.bodyBytes,
      processes: 1,
    },
    warmupMs: config.warmupMs,
    durationMs: config.durationMs,
  });
  const row = tailRow(
    base(context, label, 'fanout', `live fan-out, ${tails} tails`, 'deliveries/s', tails),
    result,
    result.deliveriesPerSec,
    context.cores,
    `${appendNotes(result)}; asked for ${formatNumber(config.fanoutRate * tails)}/s`,
  );
  return report(row);
}

/** The thread the catch-up tails replay, filled once per server. */
export async function fillCatchupThread(
  context: TailContext,
  server: ServerProcess,
): Promise<string> {
  const threadId = 'bench-catchup';
  await prefill({
    address: server.address,
    headers: headers(context),
    threadIds: [threadId],
    total: context.config.catchupEvents,
    bodyBytes: context.config.bodyBytes,
  });
  return threadId;
}

/** Tail catch-up: `tails` tails replay the whole thread at once; events/s per tail (mean). */
export async function catchup(
  context: TailContext,
  server: ServerProcess,
  label: Label,
  tails: number,
  threadId: string,
): Promise<ResultRow> {
  const { config } = context;
  process.stdout.write(
    `  catch-up of ${config.catchupEvents} events, ${tails} tails at once on ${label.server} (${label.durability}) ... `,
  );
  const result = await runTails({
    benchDir: context.benchDir,
    serverPid: server.pid,
    tails: {
      address: server.address,
      headers: tailHeaders(context),
      connections: config.tailConnections,
      mode: 'catchup',
      list: Array.from({ length: tails }, () => ({ threadId, afterRevision: '0' })),
      processes: config.tailProcesses,
    },
    warmupMs: 0,
    durationMs: 0,
  });
  const perTail = result.replays.map((r) => (r.events * 1000) / Math.max(r.elapsedMs, 1));
  const mean = perTail.reduce((sum, v) => sum + v, 0) / Math.max(perTail.length, 1);
  const events = result.replays[0]?.events ?? 0;
  const row = tailRow(
    base(
      context,
      label,
      `catchup-${tails}`,
      `tail catch-up, ${tails} tails`,
      'events/s/tail',
      tails,
    ),
    result,
    mean,
    context.cores,
    `${formatNumber(events)} events replayed per tail; slowest ${formatNumber(Math.min(...perTail))}/s`,
  );
  return report(row);
}

/** Resident and peak memory of a process, bytes (`/proc/<pid>/status`). */
export function processMemory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number =>
    Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}

/**
 * Resident memory with `messages` written over `memoryTails` threads and a live tail open on each,
 * while appends flow at 100/s: the server's VmRSS at the end of the window, in MB.
 */
export async function memory(
  context: TailContext,
  server: ServerProcess,
  label: Label,
  messages: number,
): Promise<ResultRow> {
  const { config } = context;
  const threadIds = appendThreadIds(config.memoryTails, 'bench-mem');
  process.stdout.write(
    `  memory, ${formatNumber(messages)} messages and ${config.memoryTails} tails on ${label.server} (${label.durability}) ... `,
  );
  const started = Date.now();
  if (label.server === 'progressdb') {
    await prefill({
      address: server.address,
      headers: headers(context),
      threadIds,
      total: Math.max(messages, threadIds.length),
      bodyBytes: config.bodyBytes,
      batchSize: Math.min(100, Math.max(1, Math.floor(messages / threadIds.length))),
    });
  }
  const filledInMs = Date.now() - started;
  const result = await runTails({
    benchDir: context.benchDir,
    serverPid: server.pid,
    tails: {
      address: server.address,
      headers: tailHeaders(context),
      connections: config.tailConnections,
      mode: 'live',
      list: threadIds.map((threadId) => ({ threadId })),
      processes: config.tailProcesses,
    },
    appends: {
      address: server.address,
      headers: headers(context),
      connections: 1,
      threadIds,
      ratePerSec: 100,
      concurrency: 16,
      bodyBytes: config.bodyBytes,
      processes: 1,
    },
    warmupMs: config.warmupMs,
    durationMs: config.durationMs,
  });
  const { rss, peak } = processMemory(server.pid);
  const row = tailRow(
    base(
      context,
      label,
      'memory',
      `resident memory, ${config.memoryTails} tails`,
      'MB RSS',
      config.memoryTails,
    ),
    result,
    rss / 1e6,
    context.cores,
    (label.server === 'progressdb'
      ? `${formatNumber(messages)} messages written first (in ${(filledInMs / 1000).toFixed(0)} s); `
      : 'nothing stored; ') + `peak RSS ${formatNumber(peak / 1e6)} MB; ${appendNotes(result)}`,
  );
  return report(row);
}
