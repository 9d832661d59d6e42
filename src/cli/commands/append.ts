import type { Command } from 'commander';
import type { JsonValue } from '../../../sdk/src/index.js';
import {
  action,
  addConnectionOptions,
  CliError,
  connect,
  EXIT_USAGE,
  type ConnectionOptions,
} from '../connection.js';
import { printJson, println } from '../output.js';

interface AppendOptions extends ConnectionOptions {
  readonly role?: string;
  readonly jsonBody?: boolean;
  readonly author?: string;
  readonly replyTo?: string;
  readonly messageId?: string;
  readonly json?: boolean;
}

/** The body to append: the text as a string, or parsed as JSON with `--json-body`. */
function bodyOf(text: string, asJson: boolean): JsonValue {
  if (!asJson) return text;
  try {
    return JSON.parse(text) as JsonValue;
  } catch (error) {
    throw new CliError(
      `--json-body: the text is not valid JSON: ${(error as Error).message}`,
      EXIT_USAGE,
    );
  }
}

/** `progressdb append <thread> <text>`: appends one message, creating the thread if needed. */
export function register(program: Command): void {
  const command = program
    .command('append')
    .description('append a message, creating the thread if needed')
    .argument('<thread>', 'thread id')
    .argument('<text>', 'the message body: text, or JSON with --json-body; - reads stdin')
    .option('--role <role>', 'the message role, such as user, assistant or system', 'user')
    .option('--json-body', 'parse <text> as a JSON value (an object, array, number …)')
    .option('--author <user>', 'the author (backend keys); default: --user')
    .option('--reply-to <message>', 'the id of the message this one replies to')
    .option('--message-id <id>', 'a message id of your own: appending it again changes nothing')
    .option('--json', 'print the stored message and the new revision as JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ progressdb append support-42 "Hello, how can I help?" --user agent-7
  $ progressdb append support-42 '{"text":"hi","lang":"en"}' --json-body --role assistant
  $ echo "from a pipe" | progressdb append support-42 -`,
    );
  addConnectionOptions(command).action(
    action(async (threadId: string, text: string, options: AppendOptions) => {
      const input = text === '-' ? (await readStdin()).replace(/\n$/, '') : text;
      const body = bodyOf(input, options.jsonBody === true);
      const connection = await connect(options, 'backend');
      try {
        const { message, revision } = await connection.client.messages.append({
          threadId,
          body,
          role: options.role,
          createThread: true,
          ...(options.author === undefined ? {} : { authorId: options.author }),
          ...(options.replyTo === undefined ? {} : { replyToId: options.replyTo }),
          ...(options.messageId === undefined ? {} : { messageId: options.messageId }),
        });
        if (options.json === true) printJson({ message, revision });
        else println(`appended ${message.id} to ${threadId} at seq ${message.seq}`);
      } finally {
        connection.close();
      }
    }),
  );
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
