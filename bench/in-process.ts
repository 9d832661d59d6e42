// The in-process tools' shared setup: the app on a fresh data folder, stored bodies, bulk appends,
// and a CPU profile of a measured window. Used by log-profile.ts, read-profile.ts, retention-stall.ts.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { Value } from '../src/gen/google/protobuf/struct.js';
import { createLogger } from '../src/telemetry/index.js';

/** The app, and how to stop it and remove its data folder. */
export interface InProcessApp {
  app: App;
  close: () => Promise<void>;
}

/**
 * Starts the app in this process on a fresh data folder. Telemetry and the metrics endpoint are off
 * unless the environment says otherwise; any PROGRESSDB_* setting in the environment applies, and
 * `env` (the tool's own settings) wins over it.
 */
export async function startInProcess(
  name: string,
  env: Record<string, string> = {},
): Promise<InProcessApp> {
  const dataDir = await mkdtemp(join(tmpdir(), `progressdb-${name}-`));
  const fromEnvironment = Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] =>
        entry[0].startsWith('PROGRESSDB_') && entry[1] !== undefined,
    ),
  );
  const config = loadConfig({
    argv: [],
    env: {
      PROGRESSDB_METRICS_LISTEN: 'off',
      PROGRESSDB_TELEMETRY: 'off',
      ...fromEnvironment,
      PROGRESSDB_DATA_DIR: dataDir,
      PROGRESSDB_LISTEN: '127.0.0.1:0',
      PROGRESSDB_ADMIN_KEYS: `${name}-admin-key-0123456789`,
      ...env,
    },
  });
  const app = await startApp(config, createLogger({ level: 'silent' }));
  return {
    app,
    close: async () => {
      await app.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A JSON body as the server stores it: the encoded google.protobuf.Value. */
export function storedBody(json: unknown): Buffer {
  return Buffer.from(Value.encode(Value.wrap(json)).finish());
}

/** Appends `count` messages by alice (creating the thread), in calls of at most `batch`. */
export async function appendMany(
  app: App,
  threadId: string,
  count: number,
  body: Buffer,
  batch = 100,
): Promise<void> {
  for (let done = 0; done < count; done += batch) {
    await app.log.appendMessages(
      { userId: 'alice' },
      {
        threadId,
        createThread: true,
        requestId: '',
        batch: batch > 1,
        expected: { kind: 'any' },
        messages: Array.from({ length: Math.min(batch, count - done) }, () => ({
          messageId: '',
          authorId: 'alice',
          role: 'user',
          body,
          metadata: {},
          replyToId: '',
        })),
      },
    );
  }
}

/** Runs `window`; with LOG_PROFILE=<file>, writes a CPU profile of that window alone there. */
export async function profiled<T>(window: () => Promise<T>): Promise<T> {
  const file = process.env.LOG_PROFILE;
  if (!file) return window();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await window();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    await writeFile(file, JSON.stringify(profile));
    session.disconnect();
  }
}
