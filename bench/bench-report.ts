import type { LoadRunResult } from './load-run.js';
import type { TailRunResult } from './tail-run.js';

/** Who answered a row's load: ProgressDB, or one of the baselines measured beside it. */
export type ServerKind = 'progressdb' | 'echo' | 'stream-echo' | 'rocksdb' | 'postgres';

/** One measured figure with everything a reader needs to judge it. */
export interface ResultRow {
  /** Rows with the same key measure the same work on different servers (the baselines). */
  key: string;
  /** What was measured, for people. */
  scenario: string;
  server: ServerKind;
  /** `sync`, `os`, or `-` where the server has no such mode. */
  durability: string;
  /** The headline figure and its unit. */
  rate: number;
  unit: string;
  /** Calls (or transactions, or tail streams' frames) per second behind the figure. */
  callsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  client: string;
  processes: number;
  connectionsPerProcess: number;
  /** Calls in flight in all (closed loops), or tails held. */
  concurrency: number;
  /** Messages per call (batch) or per page (list); 1 otherwise. */
  itemsPerCall: number;
  bodyJsonBytes: number;
  requestBytes: number;
  windowMs: number;
  errors: Record<string, number>;
  firstError: string | undefined;
  invalidResponse: string | undefined;
  /** CPU time in the window, ms, and the same as cores busy on average (ms / window ms). */
  clientCpuMs: number;
  clientCpuCores: number;
  serverCpuMs: number | undefined;
  serverCpuCores: number | undefined;
  /** The machine's busy share (all cores) over the window, percent. */
  machineBusyPercent: number | undefined;
  /** CPU used by everything else on the machine in the window, as cores: other work skews a run. */
  otherCpuCores: number | undefined;
  /** Anything else the figure needs to be read right (append rate of a tail scenario, …). */
  notes?: string;
  /** Filled in for ProgressDB rows: the baseline of the same key and the ratio to it. */
  baseline?: { server: ServerKind; rate: number; unit: string };
  ratio?: number;
  /** Filled in for ProgressDB rows when PostgreSQL ran: ProgressDB / PostgreSQL. */
  vsPostgres?: number;
  /** The DESIGN.md target of this figure, as text. */
  target?: string;
}

/** A target of DESIGN.md checked against the figures of this run. */
export interface TargetCheck {
  name: string;
  value: number | undefined;
  target: number;
  /** `>=` for rates and ratios, `<=` for latencies and memory. */
  comparison: '>=' | '<=';
  met: boolean | undefined;
}

type RowBase = Pick<
  ResultRow,
  | 'key'
  | 'scenario'
  | 'server'
  | 'durability'
  | 'unit'
  | 'client'
  | 'processes'
  | 'connectionsPerProcess'
  | 'concurrency'
  | 'itemsPerCall'
  | 'bodyJsonBytes'
>;

function cpuFields(
  clientCpuMs: number,
  serverCpuMs: number | undefined,
  machineBusy: number | undefined,
  windowMs: number,
  cores: number,
): Pick<
  ResultRow,
  | 'clientCpuMs'
  | 'clientCpuCores'
  | 'serverCpuMs'
  | 'serverCpuCores'
  | 'machineBusyPercent'
  | 'otherCpuCores'
> {
  const clientCpuCores = clientCpuMs / windowMs;
  const serverCpuCores = serverCpuMs === undefined ? undefined : serverCpuMs / windowMs;
  const otherCpuCores =
    machineBusy === undefined || serverCpuCores === undefined
      ? undefined
      : Math.max(0, machineBusy * cores - clientCpuCores - serverCpuCores);
  return {
    clientCpuMs,
    clientCpuCores,
    serverCpuMs,
    serverCpuCores,
    machineBusyPercent: machineBusy === undefined ? undefined : machineBusy * 100,
    otherCpuCores,
  };
}

/** Builds a row from a closed-loop load run. */
export function toRow(base: RowBase, result: LoadRunResult, cores: number): ResultRow {
  return {
    ...base,
    rate: result.callsPerSec * base.itemsPerCall,
    callsPerSec: result.callsPerSec,
    p50Ms: result.p50Us / 1000,
    p99Ms: result.p99Us / 1000,
    requestBytes: result.requestBytes,
    windowMs: result.windowMs,
    errors: result.errors,
    firstError: result.firstError,
    invalidResponse: result.invalidResponse,
    ...cpuFields(
      result.clientCpuMs,
      result.serverCpuMs,
      result.machineBusy,
      result.windowMs,
      cores,
    ),
  };
}

/** Builds a row from a tail run; `rate` is chosen by the scenario (deliveries/s, events/s, …). */
export function tailRow(
  base: RowBase,
  result: TailRunResult,
  rate: number,
  cores: number,
  notes: string,
): ResultRow {
  return {
    ...base,
    rate,
    callsPerSec: result.appendsPerSec,
    p50Ms: result.p50Us / 1000,
    p99Ms: result.p99Us / 1000,
    requestBytes: 0,
    windowMs: result.windowMs,
    errors: result.errors,
    firstError: result.firstError,
    invalidResponse: undefined,
    notes,
    ...cpuFields(
      result.clientCpuMs,
      result.serverCpuMs,
      result.machineBusy,
      result.windowMs,
      cores,
    ),
  };
}

/** A row for a figure measured inside one process (raw RocksDB, memory), without a load generator. */
export function plainRow(
  base: RowBase,
  figure: {
    rate: number;
    callsPerSec?: number;
    p50Ms?: number;
    p99Ms?: number;
    windowMs: number;
    clientCpuMs?: number;
    serverCpuMs?: number | undefined;
    machineBusy?: number | undefined;
    notes?: string;
    errors?: Record<string, number>;
    firstError?: string;
  },
  cores: number,
): ResultRow {
  return {
    ...base,
    rate: figure.rate,
    callsPerSec: figure.callsPerSec ?? 0,
    p50Ms: figure.p50Ms ?? 0,
    p99Ms: figure.p99Ms ?? 0,
    requestBytes: 0,
    windowMs: figure.windowMs,
    errors: figure.errors ?? {},
    firstError: figure.firstError,
    invalidResponse: undefined,
    ...(figure.notes === undefined ? {} : { notes: figure.notes }),
    ...cpuFields(
      figure.clientCpuMs ?? 0,
      figure.serverCpuMs,
      figure.machineBusy,
      figure.windowMs,
      cores,
    ),
  };
}

/** Formats the rows and target checks as a plain-text table. */
export function formatSummary(rows: ResultRow[], checks: TargetCheck[]): string {
  const header = [
    'scenario',
    'server',
    'dur.',
    'figure',
    'p50/p99 ms',
    'baseline',
    'ratio',
    'vs PG',
    'target',
    'body B',
    'in flight',
    'procs x conns',
    'client CPU',
    'server CPU',
    'other CPU',
    'errors',
  ];
  const lines = rows.map((row) => [
    row.scenario,
    row.server,
    row.durability,
    `${formatNumber(row.rate)} ${row.unit}`,
    row.p50Ms === 0 && row.p99Ms === 0 ? '-' : `${row.p50Ms.toFixed(2)}/${row.p99Ms.toFixed(2)}`,
    row.baseline ? `${formatNumber(row.baseline.rate)} (${row.baseline.server})` : '',
    row.ratio === undefined ? '' : row.ratio.toFixed(2),
    row.vsPostgres === undefined ? '' : row.vsPostgres.toFixed(2),
    row.target ?? '',
    String(row.bodyJsonBytes),
    String(row.concurrency),
    `${row.processes} x ${row.connectionsPerProcess}`,
    `${row.clientCpuCores.toFixed(2)}`,
    row.serverCpuCores === undefined ? '?' : row.serverCpuCores.toFixed(2),
    row.otherCpuCores === undefined ? '?' : row.otherCpuCores.toFixed(2),
    errorText(row),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const format = (cells: string[]): string =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const table = [format(header), format(widths.map((w) => '-'.repeat(w))), ...lines.map(format)];
  const notes = rows
    .filter((row) => row.notes)
    .map((row) => `  ${row.scenario} [${row.server}, ${row.durability}]: ${row.notes}`);
  const targets = checks.map((check) => {
    const verdict = check.met === undefined ? 'not measured' : check.met ? 'met' : 'NOT met';
    const value = check.value === undefined ? '-' : formatNumber(check.value);
    return `  ${check.name}: ${value} (target ${check.comparison} ${formatNumber(check.target)}): ${verdict}`;
  });
  return [
    ...table,
    '',
    'CPU in cores (average over the window). Notes:',
    ...notes,
    '',
    'Targets (DESIGN.md):',
    ...targets,
  ].join('\n');
}

function errorText(row: ResultRow): string {
  const count = Object.values(row.errors).reduce((sum, n) => sum + n, 0);
  const problems = [
    count > 0 ? `${count} (${row.firstError ?? '?'})` : '',
    row.invalidResponse ? `bad response: ${row.invalidResponse}` : '',
  ].filter((p) => p.length > 0);
  return problems.length > 0 ? problems.join('; ') : '0';
}

/** A number for people: thousands separated above 100, two decimals below. */
export function formatNumber(value: number): string {
  return Math.abs(value) >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(2);
}
