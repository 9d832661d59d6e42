import type { Command } from 'commander';
import type { TailCaughtUp, TailItem } from '../../../sdk/src/index.js';
import { action, addConnectionOptions, connect, type ConnectionOptions } from '../connection.js';
import { eventLine, type MessageColumns } from '../message-lines.js';
import { revision } from '../option-parsers.js';
import { note, printJson, println } from '../output.js';

interface TailOptions extends ConnectionOptions {
  readonly fromRevision?: bigint;
  readonly json?: boolean;
  readonly quiet?: boolean;
}

/** The SDK's `isCaughtUp`, without loading the SDK before the command connects. */
function isCaughtUp(item: TailItem): item is TailCaughtUp {
  return 'caughtUp' in item;
}

/** `progressdb tail <thread>`: follows a thread live, resuming by itself after disconnects. */
export function register(program: Command): void {
  const command = program
    .command('tail')
    .description('follow a thread live, resuming after disconnects')
    .argument('<thread>', 'thread id')
    .option(
      '--from-revision <revision>',
      'first replay every event after this revision (0: the whole thread)',
      revision,
    )
    .option('--json', 'print each event as one line of JSON')
    .option('-q, --quiet', 'no notices on stderr (caught up, reconnecting)')
    .addHelpText(
      'after',
      `
After a dropped connection or a server restart the tail reconnects and resumes after the last
revision it printed: nothing is missed, nothing is printed twice. On exit it prints that revision;
pass it to --from-revision to pick up later where you left off.

Examples:
  $ progressdb tail support-42
  $ progressdb tail support-42 --from-revision 0
  $ progressdb tail support-42 --json | jq -c .payload`,
    );
  addConnectionOptions(command).action(
    action(async (threadId: string, options: TailOptions) => {
      const notice = (line: string): void => {
        if (options.quiet !== true) note(line);
      };
      const connection = await connect(options, 'backend');
      const stop = new AbortController();
      let connected = false;
      let neverConnected: Error | undefined;
      const onSignal = (): void => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const tail = connection.client.tail.thread(threadId, {
        caughtUp: true,
        signal: stop.signal,
        ...(options.fromRevision === undefined ? {} : { afterRevision: options.fromRevision }),
        onReconnect: ({ error, attempt, delayMs, cursor }) => {
          // Never connected at all: say so and stop, rather than retry an address that is wrong.
          if (!connected) {
            neverConnected = error;
            stop.abort();
            return;
          }
          const from = cursor === undefined ? 'the head' : `revision ${cursor}`;
          notice(
            `connection lost; reconnecting in ${delayMs} ms (attempt ${attempt}), resuming after ${from}`,
          );
        },
      });
      try {
        // Fixed widths: replayed events print before the head revision is known.
        const columns: MessageColumns = { seqWidth: 4, authorWidth: 16 };
        for await (const item of tail as AsyncIterable<TailItem>) {
          connected = true;
          if (isCaughtUp(item)) {
            notice(`following ${threadId} from revision ${item.revision} (Ctrl-C to stop)`);
            continue;
          }
          if (options.json === true) printJson(item);
          else println(eventLine(item, columns));
        }
        if (neverConnected !== undefined) throw neverConnected;
        if (tail.cursor !== undefined) notice(`stopped after revision ${tail.cursor}`);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        connection.close();
      }
    }),
  );
}
