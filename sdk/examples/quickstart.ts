/**
 * Quickstart: create a thread, append (one a reply), edit, react, page back through the thread,
 * read an edit history, and see a typed error reason. Run it against a local server:
 *
 *   npm start            # terminal 1: the server on 127.0.0.1:50051, keys in ./data/api-keys.json
 *   npm run example      # terminal 2: this file
 *
 * Environment: see example-env.ts (address, keys from ./data/api-keys.json, user).
 */
import { createClient, RevisionConflictError, Status, type Message } from '../src/index.js';
import { exampleEnv, runIfMain } from './example-env.js';

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

/** Runs every step of the quickstart against the server at `address` and reports what it did. */
export async function runQuickstart(options: QuickstartOptions): Promise<QuickstartResult> {
  const print = options.print ?? ((line: string) => console.log(line));
  const { userId } = options;
  const client = createClient({ address: options.address, apiKey: options.apiKey, userId });
  try {
    print(`Calling ProgressDB at ${options.address} as ${userId}.`);

    const thread = await client.threads.create({ title: 'Release planning', memberIds: ['bob'] });
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
    const show = (message: Message): string => describe(message, seqById);
    for (const { authorId, text, reply } of texts) {
      const { message, revision } = await client.messages.append({
        threadId,
        authorId,
        role: 'user',
        body: { text },
        replyToId: reply === true ? messages[0]?.id : undefined,
      });
      messages.push(message);
      seqById.set(message.id, message.seq);
      print(`   ${show(message)}   (thread revision ${revision})`);
    }
    const [first, second, third] = messages;
    if (first === undefined || second === undefined || third === undefined) {
      throw new Error('expected at least three messages');
    }

    const edited = await client.messages.edit({
      threadId,
      messageId: third.id,
      body: { text: 'It is, merged this morning and deployed to staging.' },
    });
    print(`\n3. Edited #${third.seq}:\n   ${show(edited)}`);

    const reacted = await client.messages.react({
      threadId,
      messageId: second.id,
      reaction: '👍',
    });
    print(`\n4. Reacted to #${second.seq}:\n   ${show(reacted)}`);

    print('\n5. Scrolling back, two messages per page (newest page first):');
    const pages: Message[][] = [];
    for await (const page of client.messages.pages(threadId, { pageSize: 2 })) {
      pages.push(page.messages);
      print(`   page ${pages.length}:`);
      for (const message of page.messages) print(`     ${show(message)}`);
    }

    const versions = await client.messages.versions({ threadId, messageId: third.id });
    print(`\n6. Versions of #${third.seq}, oldest first:`);
    for (const version of versions) print(`   ${show(version)}`);

    const head = (await client.threads.get({ threadId })).revision;
    print(`\n7. Appending with a stale expected revision (${head - 1n}; the head is ${head}):`);
    let conflictReason: string | undefined;
    try {
      await client.messages.append({
        threadId,
        role: 'user',
        body: { text: 'This must not be written.' },
        expectedRevision: head - 1n,
      });
      print('   unexpectedly accepted');
    } catch (error) {
      if (!(error instanceof RevisionConflictError)) throw error;
      conflictReason = error.reason;
      print(
        `   refused: ${Status[error.code]} ${error.reason} (expected ${error.expected}, actual ${error.actual})`,
      );
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

runIfMain(import.meta.url, 'quickstart', async () => {
  const env = await exampleEnv();
  await runQuickstart({ address: env.address, apiKey: env.backendKey, userId: env.userId });
});
