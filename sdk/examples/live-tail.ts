/**
 * Live tail: follow a thread from its first event, print each event exactly once while another
 * writer appends, and keep the cursor to resume from later. The tail reconnects by itself if the
 * connection drops or the server restarts. Run it against a local server:
 *
 *   npm start                                # terminal 1
 *   npx tsx sdk/examples/live-tail.ts        # terminal 2
 *
 * Environment: see example-env.ts.
 */
import { randomUUID } from 'node:crypto';
import { createClient, isCaughtUp, Status, type Event } from '../src/index.js';
import { exampleEnv, runIfMain } from './example-env.js';

/** What {@link runLiveTail} needs. */
export interface LiveTailOptions {
  readonly address: string;
  /** A backend API key. */
  readonly apiKey: string;
  readonly userId: string;
  /** How many messages the writer appends once the tail is live. Default 3. */
  readonly messages?: number;
  /** Receives one line per step. Default: `console.log`. */
  readonly print?: (line: string) => void;
}

/** What the example saw. */
export interface LiveTailResult {
  readonly threadId: string;
  /** The revisions the tail yielded, in order. */
  readonly revisions: readonly bigint[];
  /** Where the tail stopped: pass it as `afterRevision` to resume. */
  readonly cursor: bigint | undefined;
}

/** One event on one line. */
function describe(event: Event): string {
  const payload = event.payload;
  switch (payload?.$case) {
    case 'messageCreated':
      return `#${event.revision} ${payload.value.message?.authorId}: ${JSON.stringify(payload.value.message?.body)}`;
    case 'threadCreated':
      return `#${event.revision} thread created: "${payload.value.title}"`;
    default:
      return `#${event.revision} ${payload?.$case ?? 'unknown event'}`;
  }
}

/** Opens a tail, appends while it is live, and stops after the last append. */
export async function runLiveTail(options: LiveTailOptions): Promise<LiveTailResult> {
  const print = options.print ?? ((line: string) => console.log(line));
  const count = options.messages ?? 3;
  const client = createClient({
    address: options.address,
    apiKey: options.apiKey,
    userId: options.userId,
  });
  try {
    const threadId = `live-${randomUUID()}`;
    await client.threads.create({ threadId, title: 'Live demo' });
    const last = BigInt(1 + count);

    // Another participant writes while we listen (in real life: another process).
    const writer = async (): Promise<void> => {
      for (let i = 1; i <= count; i++) {
        await client.messages.append(
          { threadId, role: 'user', body: { text: `message ${i}` } },
          { metadata: { 'x-user-id': 'bob' } },
        );
      }
    };
    let writing: Promise<void> | undefined;

    const revisions: bigint[] = [];
    const tail = client.tail.thread(threadId, {
      afterRevision: 0, // replay from the start, then follow live
      caughtUp: true,
      onReconnect: ({ error, cursor }) =>
        print(`   (reconnecting after ${error.reason ?? Status[error.code]}, from #${cursor})`),
    });
    for await (const item of tail) {
      if (isCaughtUp(item)) {
        print(`-- caught up at revision ${item.revision}; live from here`);
        writing ??= writer();
        continue;
      }
      print(describe(item));
      revisions.push(item.revision);
      if (item.revision === last) break; // ends the stream on the server too
    }
    await writing;
    print(`Stopped at revision ${tail.cursor}: resume with { afterRevision: ${tail.cursor}n }`);
    return { threadId, revisions, cursor: tail.cursor };
  } finally {
    client.close();
  }
}

runIfMain(import.meta.url, 'live-tail', async () => {
  const env = await exampleEnv();
  await runLiveTail({ address: env.address, apiKey: env.backendKey, userId: env.userId });
});
