import type { Command } from 'commander';
import { importEvents } from '../../backup/index.js';
import { action, addConnectionOptions, connect, type ConnectionOptions } from '../connection.js';
import { count, printJson, println } from '../output.js';
import { progressPrinter } from '../output.js';
import { explained } from './backup.js';

interface ImportOptions extends ConnectionOptions {
  readonly json?: boolean;
}

/** `progressdb import <file>`: replays a decrypted ndjson export into a server as new threads. */
export function register(program: Command): void {
  const command = program
    .command('import')
    .description('load a decrypted ndjson export into a server as new threads (backend key)')
    .argument('<file>', 'an export written by `progressdb export --decrypt`')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Each thread is created with its id and its events replayed in order (messages keep their ids,
authors and replies; edits, deletions, reactions and member changes follow), acting as the users
who wrote them. Times are the target server's. Idempotent: running it again, or after an
interruption, writes only what is missing. A thread that already exists in the target and was not
written by an import is refused; a sealed export is refused.

Examples:
  $ progressdb import events.ndjson --address other-host:50051`,
    );
  addConnectionOptions(command).action(
    action(async (file: string, options: ImportOptions) => {
      const connection = await connect(options, 'backend');
      const progress = progressPrinter();
      try {
        const result = await explained(
          importEvents(connection.client, file, (p) =>
            progress.show(`importing: ${count(p.done)} / ${count(p.total)} events`),
          ),
        );
        progress.done();
        if (options.json === true) printJson(result);
        else {
          const extra = [
            result.skipped > 0n ? `${count(result.skipped)} already there` : '',
            result.ignored > 0n ? `${count(result.ignored)} of kinds not replayed` : '',
          ].filter((text) => text !== '');
          println(
            `imported ${count(result.applied)} events into ${count(result.threads)} threads` +
              (extra.length > 0 ? ` (${extra.join(', ')})` : ''),
          );
        }
      } finally {
        progress.done();
        connection.close();
      }
    }),
  );
}
