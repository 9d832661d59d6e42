import type { Command } from 'commander';
import {
  action,
  addConnectionOptions,
  connect,
  isCancelled,
  type ConnectionOptions,
} from '../connection.js';
import { count, note, plural, printJson, println, progressPrinter } from '../output.js';

interface RewrapOptions extends ConnectionOptions {
  readonly kmsKeyId?: string;
  readonly json?: boolean;
}

/** `progressdb rewrap`: AdminService.RewrapKeys, with progress on stderr. */
export function register(program: Command): void {
  const command = program
    .command('rewrap')
    .description('re-wrap thread data keys under the current master key (admin)')
    .option('--kms-key-id <id>', 'the master key to wrap under; default: the server’s current one')
    .option('--json', 'print the final {"done", "total"} as JSON')
    .addHelpText(
      'after',
      `
Run it after rotating the master key (a new local key, or a new AWS KMS key id), so that every
thread's data key is wrapped by it and the old master key can be retired.

Examples:
  $ progressdb rewrap
  $ progressdb rewrap --kms-key-id arn:aws:kms:eu-west-1:123456789012:key/…`,
    );
  addConnectionOptions(command).action(
    action(async (options: RewrapOptions) => {
      const connection = await connect(options, 'admin');
      const stop = new AbortController();
      const onSignal = (): void => stop.abort();
      process.once('SIGINT', onSignal);
      const shown = progressPrinter();
      let done = 0n;
      let total = 0n;
      try {
        const progress = connection.client.admin.rewrapKeys(
          options.kmsKeyId === undefined ? {} : { kmsKeyId: options.kmsKeyId },
          { signal: stop.signal },
        );
        try {
          for await (const step of progress) {
            ({ done, total } = step);
            shown.show(`re-wrapping data keys: ${count(done)} / ${count(total)}`, step.finished);
          }
        } catch (error) {
          // Ctrl-C cancels the stream: report where it stopped rather than an error.
          if (!(isCancelled(error) && stop.signal.aborted)) throw error;
        }
        shown.done();
        if (stop.signal.aborted) {
          note(`stopped after ${count(done)} of ${count(total)} keys; run it again to finish`);
          process.exitCode = 130;
          return;
        }
        if (options.json === true) printJson({ done, total });
        else println(`re-wrapped ${plural(done, 'data key')}`);
      } finally {
        process.off('SIGINT', onSignal);
        connection.close();
      }
    }),
  );
}
