import type { Command } from 'commander';
import { BackupError, BackupProblem, downloadBackup, readBackupFile } from '../../backup/index.js';
import {
  action,
  addConnectionOptions,
  CliError,
  connect,
  isCancelled,
  type ConnectionOptions,
} from '../connection.js';
import { bytes, count, note, printJson, println, progressPrinter } from '../output.js';

interface BackupOptions extends ConnectionOptions {
  readonly verify: boolean;
  readonly json?: boolean;
}

/** Runs backup work, turning a refused file into a plain CLI error. */
export async function explained<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof BackupError) {
      throw new CliError(error.message, error.problem === BackupProblem.cancelled ? 130 : 1);
    }
    throw error;
  }
}

/** `progressdb backup <file>`: an online backup through AdminService.Backup, then verified. */
export function register(program: Command): void {
  const command = program
    .command('backup')
    .description('take an online backup of a running server into a file (admin key)')
    .argument('<file>', 'the backup file to write (must not exist)')
    .option('--no-verify', 'skip reading the file back to check its checksum')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
The backup is a consistent snapshot of every event up to the position the server had reached when
it started, plus every thread's wrapped data key, while writes go on. Content stays sealed and keys
stay wrapped: the master key (master-keys.json in the data folder, or the AWS KMS key) is NOT in
the backup — keep it safe separately, a restore needs it. Restore with \`progressdb restore\`.

Examples:
  $ progressdb backup ./backups/progressdb-$(date +%F).pdbbak
  $ progressdb backup nightly.pdbbak --json`,
    );
  addConnectionOptions(command).action(
    action(async (file: string, options: BackupOptions) => {
      const connection = await connect(options, 'admin');
      const stop = new AbortController();
      const onSignal = (): void => stop.abort();
      process.once('SIGINT', onSignal);
      const progress = progressPrinter();
      try {
        const result = await explained(
          downloadBackup(
            connection.client.admin,
            file,
            (p) =>
              progress.show(
                `backing up: ${count(p.eventsDone)} / ~${count(p.eventsEstimated)} events, ${bytes(p.bytes)}`,
              ),
            stop.signal,
          ),
        ).catch((error: unknown) => {
          if (isCancelled(error) && stop.signal.aborted) {
            throw new CliError('backup cancelled: no file was written', 130);
          }
          throw error;
        });
        progress.done();
        let verified = false;
        if (options.verify) {
          progress.show('verifying the file…', true);
          await explained(readBackupFile(result.file));
          progress.done();
          verified = true;
        }
        if (options.json === true) printJson({ ...result, verified });
        else {
          println(
            `backup written to ${result.file}: ${count(result.events)} events up to position ` +
              `${count(result.position)}, ${bytes(result.bytes)}${verified ? ', checksum verified' : ''}`,
          );
          note('keep the master key (or KMS key) safe separately: the backup does not hold it');
        }
      } finally {
        progress.done();
        process.off('SIGINT', onSignal);
        connection.close();
      }
    }),
  );
}
