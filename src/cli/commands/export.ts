import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { Option, type Command } from 'commander';
import { exportToNdjson } from '../../backup/index.js';
import {
  action,
  addConnectionOptions,
  CliError,
  connect,
  isCancelled,
  type ConnectionOptions,
} from '../connection.js';
import { revision } from '../option-parsers.js';
import { count, note } from '../output.js';
import { progressPrinter } from '../output.js';

interface ExportOptions extends ConnectionOptions {
  readonly format: 'ndjson';
  readonly thread?: string;
  readonly afterPosition?: bigint;
  readonly decrypt?: boolean;
  readonly out?: string;
  readonly append?: boolean;
}

/** `progressdb export`: AdminService.ExportEvents as ndjson, to a file or stdout. */
export function register(program: Command): void {
  const command = program
    .command('export')
    .description('export events as ndjson for analytics (admin key)')
    .addOption(
      new Option('--format <format>', 'the output format').choices(['ndjson']).default('ndjson'),
    )
    .option('--thread <id>', 'only this thread')
    .option('--after-position <n>', 'only events after this position (to resume)', revision)
    .option('--decrypt', 'open sealed bodies, metadata and titles (the server logs it)')
    .option('--out <file>', 'write to this file instead of stdout')
    .option('--append', 'with --out: append to the file (to resume an export)')
    .addHelpText(
      'after',
      `
One JSON object per line, in position order: thread_id, revision, position, kind, timestamp,
actor, request_id, sealed, payload. Without --decrypt, sealed content stays sealed (body_sealed,
title_sealed: base64 of the stored bytes). An export that stops says which --after-position
resumes it. Only a decrypted export can be imported with \`progressdb import\`.

Examples:
  $ progressdb export --out events.ndjson
  $ progressdb export --thread support-42 --decrypt | jq .payload.body
  $ progressdb export --after-position 120000 --out events.ndjson --append`,
    );
  addConnectionOptions(command).action(
    action(async (options: ExportOptions) => {
      if (options.append === true && options.out === undefined) {
        throw new CliError('--append needs --out <file>', 2);
      }
      const connection = await connect(options, 'admin');
      const stop = new AbortController();
      const onSignal = (): void => stop.abort();
      process.once('SIGINT', onSignal);
      const out =
        options.out === undefined
          ? process.stdout
          : createWriteStream(options.out, {
              flags: options.append === true ? 'a' : 'wx',
              mode: 0o600,
            });
      const progress = progressPrinter();
      let last = options.afterPosition ?? 0n;
      let events = 0n;
      try {
        if (out !== process.stdout) {
          await new Promise<void>((resolve, reject) => {
            out.once('open', () => resolve());
            out.once('error', reject);
          });
        }
        const result = await exportToNdjson(
          connection.client.admin,
          out,
          {
            threadId: options.thread,
            afterPosition: options.afterPosition,
            decrypt: options.decrypt === true,
          },
          (p) => {
            last = p.lastPosition;
            events = p.events;
            progress.show(
              `exporting: ${count(p.events)} events, position ${count(p.lastPosition)} / ${count(p.headPosition)}`,
            );
          },
          stop.signal,
        );
        progress.done();
        note(
          `exported ${count(result.events)} events up to position ${count(result.lastPosition)}` +
            (options.decrypt === true ? ' (decrypted)' : ''),
        );
      } catch (error) {
        progress.done();
        const resume = `${count(events)} events written; resume with --after-position ${last}`;
        if (isCancelled(error) && stop.signal.aborted) {
          throw new CliError(`export cancelled: ${resume}`, 130);
        }
        if (error instanceof Error && 'code' in error && error.code === 'EEXIST') {
          throw new CliError(`${options.out} already exists: pass --append to add to it`);
        }
        note(`progressdb: the export stopped: ${resume}`);
        throw error;
      } finally {
        process.off('SIGINT', onSignal);
        if (out !== process.stdout) {
          out.end();
          await finished(out).catch(() => undefined);
        }
        connection.close();
      }
    }),
  );
}
