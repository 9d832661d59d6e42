import type { Command } from 'commander';
import type { MessagePage } from '../../../sdk/src/index.js';
import {
  action,
  addConnectionOptions,
  CliError,
  connect,
  EXIT_USAGE,
  type ConnectionOptions,
} from '../connection.js';
import { columnsFor, messageHeader, messageLine, type MessageColumns } from '../message-lines.js';
import { integerIn, revision } from '../option-parsers.js';
import { note, printJson, println } from '../output.js';

interface MessagesOptions extends ConnectionOptions {
  readonly limit: number;
  readonly before?: bigint;
  readonly after?: bigint;
  readonly all?: boolean;
  readonly includeDeleted?: boolean;
  readonly json?: boolean;
}

/** `progressdb messages <thread>`: one page of a thread's messages, or all of them. */
export function register(program: Command): void {
  const command = program
    .command('messages')
    .description('show a page of a thread’s messages, or all of them')
    .argument('<thread>', 'thread id')
    .option('--limit <n>', 'messages per page, 1-1000', integerIn(1, 1000), 50)
    .option('--before <seq>', 'the page just before this seq (older messages)', revision)
    .option('--after <seq>', 'the page just after this seq (newer messages)', revision)
    .option('--all', 'every message, oldest first (from --after, if given)')
    .option('--include-deleted', 'show deleted messages too, without their bodies')
    .option(
      '--json',
      'print JSON: the page {"messages", "hasMoreBefore", …}; with --all, one message per line',
    )
    .addHelpText(
      'after',
      `
Messages print oldest first: seq, time (UTC), author (role), body.

Examples:
  $ progressdb messages support-42
  $ progressdb messages support-42 --before 120 --limit 20
  $ progressdb messages support-42 --all --json | jq -r .body`,
    );
  addConnectionOptions(command).action(
    action(async (threadId: string, options: MessagesOptions) => {
      if (options.before !== undefined && options.after !== undefined) {
        throw new CliError('--before and --after do not go together', EXIT_USAGE);
      }
      if (options.all === true && options.before !== undefined) {
        throw new CliError('--all reads forward: use --after with it, not --before', EXIT_USAGE);
      }
      const connection = await connect(options, 'backend');
      try {
        const { messages } = connection.client;
        const includeDeleted = options.includeDeleted ?? false;
        if (options.all === true) {
          let columns: MessageColumns | undefined;
          let printed = 0;
          const pages = messages.pages(threadId, {
            direction: 'forward',
            pageSize: options.limit,
            includeDeleted,
            afterSeq: options.after,
          });
          for await (const page of pages) {
            for (const message of page.messages) {
              if (options.json === true) {
                printJson(message);
                continue;
              }
              if (columns === undefined) {
                columns = columnsFor(page.threadRevision, page.messages);
                println(messageHeader(columns));
              }
              println(messageLine(message, columns));
            }
            printed += page.messages.length;
          }
          if (printed === 0 && options.json !== true) println('no messages');
          return;
        }
        const page = await messages.list({
          threadId,
          pageSize: options.limit,
          includeDeleted,
          beforeSeq: options.before,
          afterSeq: options.after,
        });
        if (options.json === true) printJson(page);
        else printPage(page);
      } finally {
        connection.close();
      }
    }),
  );
}

function printPage(page: MessagePage): void {
  if (page.messages.length === 0) {
    println('no messages');
    return;
  }
  const columns = columnsFor(page.threadRevision, page.messages);
  println(messageHeader(columns));
  for (const message of page.messages) println(messageLine(message, columns));
  const first = page.messages[0];
  const last = page.messages[page.messages.length - 1];
  if (page.hasMoreBefore && first !== undefined) note(`older: --before ${first.seq}`);
  if (page.hasMoreAfter && last !== undefined) note(`newer: --after ${last.seq}`);
}
