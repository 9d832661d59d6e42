import type { LoadRunResult } from './load-run.js';

/** One measured figure with everything a reader needs to judge it. */
export interface ResultRow {
  scenario: 'AppendMessage' | 'AppendMessages' | 'ListMessages';
  server: 'echo' | 'progressdb';
  /** `sync`, `os`, or `-` for the echo server. */
  durability: string;
  /** The headline figure and its unit. */
  rate: number;
  unit: 'calls/s' | 'messages/s' | 'pages/s';
  /** Calls per second (equal to `rate` for single calls). */
  callsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  client: string;
  processes: number;
  connectionsPerProcess: number;
  /** Calls in flight in all. */
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
}

/** A target of DESIGN.md checked against the figures of this run. */
export interface TargetCheck {
  name: string;
  value: number | undefined;
  target: number;
  met: boolean | undefined;
}

/** Builds a row from a load run. */
export function toRow(
  base: Pick<
    ResultRow,
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
  >,
  result: LoadRunResult,
  cores: number,
): ResultRow {
  const clientCpuCores = result.clientCpuMs / result.windowMs;
  const serverCpuCores =
    result.serverCpuMs === undefined ? undefined : result.serverCpuMs / result.windowMs;
  const otherCpuCores =
    result.machineBusy === undefined || serverCpuCores === undefined
      ? undefined
      : Math.max(0, result.machineBusy * cores - clientCpuCores - serverCpuCores);
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
    clientCpuMs: result.clientCpuMs,
    clientCpuCores,
    serverCpuMs: result.serverCpuMs,
    serverCpuCores,
    machineBusyPercent: result.machineBusy === undefined ? undefined : result.machineBusy * 100,
    otherCpuCores,
  };
}

/** Formats the rows and target checks as a plain-text table. */
export function formatSummary(rows: ResultRow[], checks: TargetCheck[]): string {
  const header = [
    'scenario',
    'server',
    'dur.',
    'rate',
    'unit',
    'p50 ms',
    'p99 ms',
    'in flight',
    'procs x conns',
    'client CPU',
    'server CPU',
    'other CPU',
    'box busy',
    'errors',
  ];
  const lines = rows.map((row) => [
    row.scenario + (row.itemsPerCall > 1 ? ` x${row.itemsPerCall}` : ''),
    row.server,
    row.durability,
    Math.round(row.rate).toLocaleString('en-US'),
    row.unit,
    row.p50Ms.toFixed(2),
    row.p99Ms.toFixed(2),
    String(row.concurrency),
    `${row.processes} x ${row.connectionsPerProcess}`,
    `${row.clientCpuCores.toFixed(2)} cores`,
    row.serverCpuCores === undefined ? '?' : `${row.serverCpuCores.toFixed(2)} cores`,
    row.otherCpuCores === undefined ? '?' : `${row.otherCpuCores.toFixed(2)} cores`,
    row.machineBusyPercent === undefined ? '?' : `${row.machineBusyPercent.toFixed(0)} %`,
    errorText(row),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const format = (cells: string[]): string =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const table = [format(header), format(widths.map((w) => '-'.repeat(w))), ...lines.map(format)];
  const targets = checks.map((check) => {
    const verdict = check.met === undefined ? 'not measured' : check.met ? 'met' : 'NOT met';
    const value = check.value === undefined ? '-' : formatNumber(check.value);
    return `  ${check.name}: ${value} (target >= ${formatNumber(check.target)}): ${verdict}`;
  });
  return [...table, '', 'Targets (DESIGN.md):', ...targets].join('\n');
}

function errorText(row: ResultRow): string {
  const count = Object.values(row.errors).reduce((sum, n) => sum + n, 0);
  const problems = [
    count > 0 ? `${count} (${row.firstError ?? '?'})` : '',
    row.invalidResponse ? `bad response: ${row.invalidResponse}` : '',
  ].filter((p) => p.length > 0);
  return problems.length > 0 ? problems.join('; ') : '0';
}

function formatNumber(value: number): string {
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(2);
}
