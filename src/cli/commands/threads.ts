import type { Command } from 'commander';
import type { Thread } from '../../../sdk/src/index.js';
import {
  action,
  addConnectionOptions,
  CliError,
  connect,
  EXIT_USAGE,
  type ConnectionOptions,
} from '../connection.js';
import { integerIn } from '../option-parsers.js';
import {
  bodyText,
  count,
  formatTable,
  note,
  printJson,
  println,
  relativeTime,
  truncate,
} from '../output.js';

interface ThreadsOptions extends ConnectionOptions {
  readonly limit: number;
  readonly pageToken?: string;
  readonly all?: boolean;
  readonly includeDeleted?: boolean;
  readonly of?: string;
  readonly json?: boolean;
}

/** The preview of a thread's newest message: `author: text`. */
function preview(thread: Thread): string {
  const last = thread.lastMessage;
  if (last === undefined) return '';
  const author = last.authorId === '' ? '' : `${last.authorId}: `;
  return truncate(`${author}${bodyText(last.body)}`, 60);
}

function printThreads(threads: readonly Thread[]): void {
  if (threads.length === 0) {
    println('no threads');
    return;
  }
  const rows = threads.map((thread) => [
    thread.id,
    truncate(thread.title, 30) + (thread.deleted ? ' (deleted)' : ''),
    count(thread.messageCount),
    String(thread.revision),
    relativeTime(thread.updatedAt),
    preview(thread),
  ]);
  const table = formatTable(
    ['THREAD', 'TITLE', 'MESSAGES', 'REVISION', 'ACTIVE', 'LAST MESSAGE'],
    rows,
    ['left', 'left', 'right', 'right', 'left', 'left'],
  );
  for (const line of table) println(line);
}

/** `progressdb threads`: a user's threads, most recently active first, a page at a time. */
export function register(program: Command): void {
  const command = program
    .command('threads')
    .description('list a user’s threads, most recently active first')
    .option('--of <user>', 'whose threads (backend keys); default: --user')
    .option('--limit <n>', 'threads per page, 1-1000', integerIn(1, 1000), 20)
    .option('--page-token <token>', 'continue from the token a previous page printed')
    .option('--all', 'list every page')
    .option('--include-deleted', 'include soft-deleted threads')
    .option('--json', 'print JSON: {"threads", "nextPageToken"}; with --all, one thread per line')
    .addHelpText(
      'after',
      `
Examples:
  $ progressdb threads --user alice
  $ progressdb threads --user alice --limit 50 --page-token <token>
  $ progressdb threads --user alice --all --json | jq -r .id`,
    );
  addConnectionOptions(command).action(
    action(async (options: ThreadsOptions) => {
      const userId = options.of ?? options.user;
      if (userId === undefined || userId === '') {
        throw new CliError(
          'threads lists one user’s threads: pass --user <id> (or --of <id>, or set PROGRESSDB_USER)',
          EXIT_USAGE,
        );
      }
      if (options.all === true && options.pageToken !== undefined) {
        throw new CliError('--all and --page-token do not go together', EXIT_USAGE);
      }
      const connection = await connect(options, 'backend');
      try {
        const { threads } = connection.client;
        const input = {
          userId,
          pageSize: options.limit,
          includeDeleted: options.includeDeleted ?? false,
        };
        if (options.all === true) {
          const all: Thread[] = [];
          for await (const thread of threads.all(input)) {
            if (options.json === true) printJson(thread);
            else all.push(thread);
          }
          if (options.json !== true) printThreads(all);
          return;
        }
        const page = await threads.list({ ...input, pageToken: options.pageToken });
        if (options.json === true) {
          printJson(page);
          return;
        }
        printThreads(page.threads);
        if (page.nextPageToken !== undefined) {
          note(`more threads: add --page-token ${page.nextPageToken} (or --all)`);
        }
      } finally {
        connection.close();
      }
    }),
  );
}
