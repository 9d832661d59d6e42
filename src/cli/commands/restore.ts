import type { Command } from 'commander';
import { restoreBackup } from '../../backup/index.js';
import { action } from '../connection.js';
import { count, note, printJson, println } from '../output.js';
import { progressPrinter } from '../output.js';
import { explained } from './backup.js';

interface RestoreOptions {
  readonly dataDir: string;
  readonly masterKeyFile?: string;
  readonly json?: boolean;
}

/** `progressdb restore <file> --data-dir <new>`: an offline restore into a new data folder. */
export function register(program: Command): void {
  program
    .command('restore')
    .description('restore a backup file into a new data folder (offline; no server needed)')
    .argument('<file>', 'the backup file')
    .requiredOption('--data-dir <folder>', 'the new data folder: absent or empty')
    .option(
      '--master-key-file <file>',
      'the source master-keys.json (local key provider): copied into the new data folder',
    )
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
The file is checked (format, checksum, counts) while it is loaded into a temporary folder next to
the target; the projections are rebuilt from the events; only a complete, verified database is
moved into place. A damaged or truncated file leaves nothing behind.

The backup holds wrapped data keys, not the master key: pass the source's master-keys.json with
--master-key-file (every data key is checked to open under it), or point the restored server at
it (PROGRESSDB_MASTER_KEY_FILE). With AWS KMS, give the restored server the same KMS key.

Examples:
  $ progressdb restore nightly.pdbbak --data-dir ./data-restored --master-key-file ./data/master-keys.json
  $ progressdb serve --data-dir ./data-restored`,
    )
    .action(
      action(async (file: string, options: RestoreOptions) => {
        const progress = progressPrinter();
        // Ctrl-C stops at the next step and removes the temporary folder.
        const stop = new AbortController();
        const onSignal = (): void => stop.abort();
        process.once('SIGINT', onSignal);
        try {
          const result = await explained(
            restoreBackup({
              file,
              dataDir: options.dataDir,
              masterKeyFile: options.masterKeyFile,
              signal: stop.signal,
              onProgress: (p) => {
                if (p.phase === 'reading') {
                  progress.show(
                    `restoring: ${count(p.eventsDone)} / ~${count(p.eventsEstimated)} events read`,
                  );
                } else if (p.phase !== 'done') {
                  progress.show(`restoring: ${p.phase}…`, true);
                }
              },
            }),
          );
          progress.done();
          if (options.json === true) printJson(result);
          else {
            println(
              `restored ${count(result.events)} events, ${count(result.threads)} threads and ` +
                `${count(result.keys)} data keys up to position ${count(result.position)} into ` +
                `${options.dataDir}`,
            );
          }
          if (result.keysNeedingMasterKey > 0n) {
            note(
              `warning: ${count(result.keysNeedingMasterKey)} data keys are wrapped by a local master key ` +
                'that was not given: copy the source master-keys.json into the new data folder ' +
                '(or pass --master-key-file), or their content cannot be read',
            );
          }
        } finally {
          progress.done();
          process.off('SIGINT', onSignal);
        }
      }),
    );
}
