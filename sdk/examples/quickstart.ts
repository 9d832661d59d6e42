/**
 * Quickstart: create a thread, append (one a reply), edit, react, page back through the thread,
 * read an edit history, and see a typed error reason. Run it against a local server:
 *
 *   npm start            # terminal 1: the server on 127.0.0.1:50051, keys in ./data/api-keys.json
 *   npm run example      # terminal 2: this file
 *
 * Environment: PROGRESSDB_ADDRESS (default 127.0.0.1:50051), PROGRESSDB_API_KEY (default: the first
 * backend key in $PROGRESSDB_DATA_DIR/api-keys.json, data dir default ./data), PROGRESSDB_USER
 * (default alice).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createClients, errorInfo, errorReason, Status, type Message } from '../src/index.js';

/** What {@link runQuickstart} needs: where to connect, as whom, and where to print. */
export interface QuickstartOptions {
  readonly address: string;
  /** A backend API key. */
  readonly apiKey: string;
  /** The user the calls act for. */
  readonly userId: string;
  /** Receives one line per step. Default: `console.log`. */
  readonly print?: (line: string) => void;
}

/** What the quickstart did, for a test to check against the server. */
export interface QuickstartResult {
  readonly threadId: string;
  /** The ids of the appended messages, oldest first. */
  readonly messageIds: readonly string[];
  readonly repliedToId: string;
  readonly editedId: string;
  readonly reactedId: string;
  /** The pages read while scrolling back, newest page first, each oldest first. */
  readonly pages: readonly (readonly Message[])[];
  /** Every version of the edited message, oldest first. */
  readonly versions: readonly Message[];
  /** The reason of the deliberately stale append. */
  readonly conflictReason: string | undefined;
}

/** A message on one line: `#seq author (role) vN: body`, with the seq it replies to and its reactions. */
function describe(message: Message, seqById: ReadonlyMap<string, bigint>): string {
  const parts = [`#${message.seq} ${message.authorId} (${message.role}) v${message.version}:`];
  parts.push(JSON.stringify(message.body));
  if (message.replyToId !== '') {
    parts.push(`[reply to #${seqById.get(message.replyToId) ?? message.replyToId}]`);
  }
  for (const r of message.reactions) parts.push(`[${r.reaction} ×${r.count}${r.me ? ', me' : ''}]`);
  return parts.join(' ');
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`the server answered without ${what}`);
  return value;
}

/** Runs every step of the quickstart against the server at `address` and reports what it did. */
export async function runQuickstart(options: QuickstartOptions): Promise<QuickstartResult> {
  const print = options.print ?? ((line: string) => console.log(line));
  const { userId } = options;
  const client = createClients({
    address: options.address,
    apiKey: options.apiKey,
    userId,
  });
  try {
    print(`Calling ProgressDB at ${options.address} as ${userId}.`);

    const created = await client.threads.createThread({
      title: 'Release planning',
      memberIds: ['bob'],
    });
    const thread = required(created.thread, 'a thread');
    const threadId = thread.id;
    print(
      `\n1. Created thread ${threadId} "${thread.title}", members ${thread.memberIds.join(', ')}`,
    );

    print('\n2. Appended messages:');
    const texts: { authorId: string; text: string; reply?: boolean }[] = [
      { authorId: userId, text: 'Shall we ship 1.2 on Friday?' },
      { authorId: 'bob', text: 'Friday works if the migration is done.', reply: true },
      { authorId: userId, text: 'It is, merged this morning.' },
      { authorId: 'bob', text: 'Then Friday it is.' },
      { authorId: userId, text: 'I will write the release notes.' },
    ];
    const messages: Message[] = [];
    const seqById = new Map<string, bigint>();
    const show = (message: Message | undefined): string =>
      describe(required(message, 'a message'), seqById);
    for (const { authorId, text, reply } of texts) {
      const replyToId = reply === true ? messages[0]?.id : undefined;
      const appended = await client.messages.appendMessage({
        threadId,
        authorId,
        role: 'user',
        body: { text },
        ...(replyToId === undefined ? {} : { replyToId }),
      });
      const message = required(appended.message, 'a message');
      messages.push(message);
      seqById.set(message.id, message.seq);
      print(`   ${show(message)}   (thread revision ${appended.revision})`);
    }
    const [first, second, third] = messages;
    if (first === undefined || second === undefined || third === undefined) {
      throw new Error('expected at least three messages');
    }

    const edited = await client.messages.editMessage({
      threadId,
      messageId: third.id,
      body: { text: 'It is, merged this morning and deployed to staging.' },
    });
    print(`\n3. Edited #${third.seq}:\n   ${show(edited.message)}`);

    const reacted = await client.messages.addReaction({
      threadId,
      messageId: second.id,
      reaction: '👍',
    });
    print(`\n4. Reacted to #${second.seq}:\n   ${show(reacted.message)}`);

    print('\n5. Scrolling back, two messages per page (newest page first):');
    const pages: Message[][] = [];
    let page = await client.messages.listMessages({ threadId, pageSize: 2 });
    for (;;) {
      pages.push(page.messages);
      print(`   page ${pages.length}:`);
      for (const message of page.messages) print(`     ${show(message)}`);
      const oldest = page.messages[0];
      if (!page.hasMoreBefore || oldest === undefined) break;
      page = await client.messages.listMessages({
        threadId,
        pageSize: 2,
        anchor: { $case: 'beforeSeq', value: oldest.seq },
      });
    }

    const { versions } = await client.messages.listMessageVersions({
      threadId,
      messageId: third.id,
    });
    print(`\n6. Versions of #${third.seq}, oldest first:`);
    for (const version of versions) print(`   ${show(version)}`);

    const { thread: current } = await client.threads.getThread({ threadId });
    const head = required(current, 'a thread').revision;
    print(`\n7. Appending with a stale expected revision (${head - 1n}; the head is ${head}):`);
    let conflictReason: string | undefined;
    try {
      await client.messages.appendMessage({
        threadId,
        role: 'user',
        body: { text: 'This must not be written.' },
        expectedRevision: { kind: { $case: 'exact', value: head - 1n } },
      });
      print('   unexpectedly accepted');
    } catch (error) {
      conflictReason = errorReason(error);
      const code = (error as { code?: Status }).code;
      const actual = errorInfo(error)?.metadata.actual;
      print(`   refused: ${Status[code ?? Status.UNKNOWN]} ${conflictReason} (actual ${actual})`);
    }

    return {
      threadId,
      messageIds: messages.map((m) => m.id),
      repliedToId: first.id,
      editedId: third.id,
      reactedId: second.id,
      pages,
      versions,
      conflictReason,
    };
  } finally {
    client.close();
  }
}

/** The first backend key of the key file the server writes on its first start. */
async function backendKeyFromFile(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new Error(
      `no API key: set PROGRESSDB_API_KEY, or start the server first (npm start) so that it writes ${file}`,
    );
  }
  const keys = JSON.parse(text) as { backend?: unknown };
  const key = Array.isArray(keys.backend) ? (keys.backend[0] as unknown) : undefined;
  if (typeof key !== 'string') throw new Error(`${file} holds no backend key`);
  return key;
}

async function main(): Promise<void> {
  const env = process.env;
  // Empty counts as unset, as it does for the server's own settings.
  const address = env.PROGRESSDB_ADDRESS || '127.0.0.1:50051';
  const apiKey =
    env.PROGRESSDB_API_KEY ||
    (await backendKeyFromFile(join(env.PROGRESSDB_DATA_DIR || 'data', 'api-keys.json')));
  const userId = env.PROGRESSDB_USER || 'alice';
  try {
    await runQuickstart({ address, apiKey, userId });
  } catch (error) {
    // UNAVAILABLE without a ProgressDB reason: no server answered.
    if ((error as { code?: Status }).code === Status.UNAVAILABLE && !errorReason(error)) {
      throw new Error(`cannot reach ProgressDB at ${address}: is it running (npm start)?`, {
        cause: error,
      });
    }
    throw error;
  }
}

const script = process.argv[1];
if (script !== undefined && import.meta.url === pathToFileURL(script).href) {
  main().catch((error: unknown) => {
    console.error(`quickstart failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  });
}
