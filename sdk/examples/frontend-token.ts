/**
 * The frontend token flow: your backend (backend key) signs a short-lived token for the signed-in
 * user and hands it to the frontend; the frontend calls ProgressDB with the frontend key and that
 * token, and can reach only the threads the user is a member of. Run it against a local server:
 *
 *   npm start                                   # terminal 1 (writes a frontend key too)
 *   npx tsx sdk/examples/frontend-token.ts      # terminal 2
 *
 * Environment: see example-env.ts (PROGRESSDB_FRONTEND_KEY, or the key file's frontend key).
 */
import { randomUUID } from 'node:crypto';
import {
  createClient,
  PermissionDeniedError,
  type ProgressDBClient,
  type UserToken,
} from '../src/index.js';
import { exampleEnv, runIfMain } from './example-env.js';

/** What {@link runFrontendToken} needs. */
export interface FrontendTokenOptions {
  readonly address: string;
  /** The backend's key: it signs tokens and never leaves the backend. */
  readonly backendKey: string;
  /** The frontend key: shipped to browsers, worthless without a user token. */
  readonly frontendKey: string;
  /** The signed-in user. */
  readonly userId: string;
  readonly print?: (line: string) => void;
}

/** What the frontend could and could not do. */
export interface FrontendTokenResult {
  readonly token: UserToken;
  readonly threadId: string;
  /** The author the server recorded for the frontend's message. */
  readonly authorId: string;
  /** The threads the frontend listed. */
  readonly listed: readonly string[];
  /** The reason the frontend was refused someone else's thread. */
  readonly refusedReason: string | undefined;
}

/** Backend side: an endpoint of your app would do this after its own login check. */
async function issueToken(backend: ProgressDBClient, userId: string): Promise<UserToken> {
  return backend.auth.signUser({ userId, ttlSeconds: 15 * 60 });
}

/** Runs both sides in one process: the backend signs, the "frontend" uses the token. */
export async function runFrontendToken(
  options: FrontendTokenOptions,
): Promise<FrontendTokenResult> {
  const print = options.print ?? ((line: string) => console.log(line));
  const backend = createClient({ address: options.address, apiKey: options.backendKey });
  let frontend: ProgressDBClient | undefined;
  try {
    // The backend sets up a support thread the user belongs to, and one they do not.
    const threadId = `support-${randomUUID()}`;
    const asAgent = { metadata: { 'x-user-id': 'agent' } };
    await backend.threads.create({ threadId, memberIds: [options.userId] }, asAgent);
    const privateId = `internal-${randomUUID()}`;
    await backend.threads.create({ threadId: privateId }, asAgent);

    const token = await issueToken(backend, options.userId);
    print(
      `Backend signed a token for ${token.userId}, valid until ${token.expiresAt?.toISOString()}`,
    );

    // Frontend side: only the frontend key and the token.
    frontend = createClient({
      address: options.address,
      apiKey: options.frontendKey,
      userToken: token.token,
    });
    const { message } = await frontend.messages.append({
      threadId,
      role: 'user',
      body: { text: 'Hi, my order has not arrived.' },
    });
    print(`Frontend appended as ${message.authorId}: ${JSON.stringify(message.body)}`);

    const listed: string[] = [];
    for await (const thread of frontend.threads.all()) listed.push(thread.id);
    print(`Frontend sees ${listed.length} thread(s): ${listed.join(', ')}`);

    let refusedReason: string | undefined;
    try {
      await frontend.messages.list({ threadId: privateId });
    } catch (error) {
      if (!(error instanceof PermissionDeniedError)) throw error;
      refusedReason = error.reason;
      print(`Frontend refused the internal thread: ${error.reason}`);
    }
    return { token, threadId, authorId: message.authorId, listed, refusedReason };
  } finally {
    frontend?.close();
    backend.close();
  }
}

runIfMain(import.meta.url, 'frontend-token', async () => {
  const env = await exampleEnv();
  if (env.frontendKey === undefined)
    throw new Error('no frontend key: set PROGRESSDB_FRONTEND_KEY');
  await runFrontendToken({
    address: env.address,
    backendKey: env.backendKey,
    frontendKey: env.frontendKey,
    userId: env.userId,
  });
});
