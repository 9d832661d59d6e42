import type { Command } from 'commander';
import type { Stats } from '../../../sdk/src/index.js';
import { action, addConnectionOptions, connect, type ConnectionOptions } from '../connection.js';
import { bytes, count, duration, formatTable, plural, printJson, println } from '../output.js';

interface StatsOptions extends ConnectionOptions {
  readonly json?: boolean;
}

/** The human form of GetStats: totals, subscribers, the last group commit, storage per family. */
function printStats(stats: Stats): void {
  const deleted = (n: bigint): string => (n > 0n ? `  (${count(n)} deleted)` : '');
  const subscribers =
    stats.subscribers.length === 0
      ? 'none'
      : stats.subscribers.map((s) => `${s.kind} ${count(s.count)}`).join(', ');
  const rows: [string, string][] = [
    ['threads', `${count(stats.threads)}${deleted(stats.deletedThreads)}`],
    ['messages', `${count(stats.messages)}${deleted(stats.deletedMessages)}`],
    ['events', count(stats.events)],
    ['position', count(stats.position)],
    ['subscribers', subscribers],
    ['uptime', duration(Number(stats.uptimeSeconds))],
  ];
  const commit = stats.lastGroupCommit;
  if (commit !== undefined) {
    const micros = Number(commit.durationMicros);
    const took = micros >= 1000 ? `${(micros / 1000).toFixed(1)} ms` : `${micros} µs`;
    rows.push([
      'last commit',
      `${plural(commit.commands, 'command')}, ${plural(commit.events, 'event')}, ${bytes(commit.bytes)} in ${took}`,
    ]);
  }
  const width = Math.max(...rows.map(([label]) => label.length));
  for (const [label, value] of rows) println(`${label.padEnd(width)}  ${value}`);
  if (stats.columnFamilies.length > 0) {
    println();
    const table = formatTable(
      ['column family', 'bytes', 'keys'],
      stats.columnFamilies.map((family) => [family.name, bytes(family.bytes), count(family.keys)]),
      ['left', 'right', 'right'],
    );
    for (const line of table) println(line);
  }
}

/** `progressdb stats`: AdminService.GetStats as a table, or JSON. */
export function register(program: Command): void {
  const command = program
    .command('stats')
    .description('counts, subscribers, uptime and storage (admin key)')
    .option('--json', 'print one JSON object')
    .addHelpText(
      'after',
      `
Examples:
  $ progressdb stats
  $ progressdb stats --json | jq .messages`,
    );
  addConnectionOptions(command).action(
    action(async (options: StatsOptions) => {
      const connection = await connect(options, 'admin');
      try {
        const stats = await connection.client.admin.getStats();
        if (options.json === true) printJson(stats);
        else printStats(stats);
      } finally {
        connection.close();
      }
    }),
  );
}
