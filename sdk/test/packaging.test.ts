import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startTestServer, TEST_KEYS, type TestServer } from '../../test/support/test-server.js';

// Packs the SDK as npm would publish it, installs the tarball into a scratch project outside the
// repository, and uses it from plain ESM and from type-checked TypeScript against a real server.
// A file missing from `files`, a wrong `exports` or `types` path, an undeclared dependency or a
// deep import that should not exist fails here.

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

/** The environment for child npm runs, without what `npm test` set for the repository itself. */
function npmEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^npm_(package|lifecycle)_|^npm_config_(workspaces?|include_workspace_root)$/i.test(key)) {
      delete env[key];
    }
  }
  return env;
}

let server: TestServer;
let scratch: string;
let packed: { filename: string; files: { path: string }[] };

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'progressdb-sdk-consumer-'));
  // `npm pack` runs the SDK's prepack script: a clean build of dist/.
  const { stdout } = await run(
    'npm',
    ['pack', '-w', 'sdk', '--pack-destination', scratch, '--json', '--silent'],
    { cwd: repoRoot, env: npmEnv(), maxBuffer: 16 * 1024 * 1024 },
  );
  // The JSON report follows whatever the build printed.
  const report = JSON.parse(stdout.slice(stdout.search(/^\[/m))) as (typeof packed)[];
  assert.equal(report.length, 1);
  packed = report[0] as typeof packed;
  await writeFile(
    join(scratch, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  const types = JSON.parse(
    await readFile(join(repoRoot, 'node_modules/@types/node/package.json'), 'utf8'),
  ) as { version: string };
  await run(
    'npm',
    [
      'install',
      join(scratch, packed.filename),
      `@types/node@${types.version}`,
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--silent',
    ],
    { cwd: scratch, env: npmEnv() },
  );
  server = await startTestServer();
});

after(async () => {
  await server?.close();
  await rm(scratch, { recursive: true, force: true });
});

test('the tarball holds the build, the README and the manifest, and nothing else', () => {
  const paths = packed.files.map((file) => file.path);
  for (const path of ['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts']) {
    assert.ok(paths.includes(path), `${path} is packed`);
  }
  assert.ok(paths.includes('dist/gen/progressdb/v1/types.js'), 'the generated code is built');
  const stray = paths.filter(
    (path) => !/^(package\.json|README\.md|dist\/.+\.(js|d\.ts))$/.test(path),
  );
  assert.deepEqual(stray, [], 'no sources, tests or examples');
});

const SCRIPT = `
import * as sdk from '@progressdb/client';
const { createClient, NotFoundError, RevisionConflictError, isCaughtUp, Status } = sdk;

const client = createClient({
  address: process.env.PROGRESSDB_ADDRESS,
  apiKey: process.env.PROGRESSDB_API_KEY,
  userId: 'packed',
});
const out = {};
try {
  const { message, revision } = await client.messages.append({
    threadId: 'from-the-tarball',
    role: 'user',
    body: { hello: 'world' },
  });
  out.appended = { revision: String(revision), body: message.body, author: message.authorId };
  try {
    await client.messages.append({ threadId: 'from-the-tarball', body: 1, expectedRevision: 1n });
  } catch (error) {
    out.conflict = error instanceof RevisionConflictError && [error.reason, String(error.actual)];
  }
  try {
    await client.threads.get({ threadId: 'nowhere' });
  } catch (error) {
    out.notFound = error instanceof NotFoundError && Status[error.code];
  }
  const tailed = [];
  for await (const item of client.tail.thread('from-the-tarball', { afterRevision: 0, caughtUp: true })) {
    if (isCaughtUp(item)) break;
    tailed.push(String(item.revision));
  }
  out.tailed = tailed;
  try {
    await import('@progressdb/client/dist/gen/progressdb/v1/types.js');
    out.deepImport = 'allowed';
  } catch (error) {
    out.deepImport = error.code;
  }
  out.exports = Object.keys(sdk).sort();
} finally {
  client.close();
}
console.log(JSON.stringify(out));
`;

test('an ESM script in the scratch project uses the installed package against a server', async () => {
  await writeFile(join(scratch, 'use.mjs'), SCRIPT);
  const { stdout } = await run(process.execPath, ['use.mjs'], {
    cwd: scratch,
    env: {
      ...process.env,
      PROGRESSDB_ADDRESS: server.address,
      PROGRESSDB_API_KEY: TEST_KEYS.backend,
    },
    timeout: 30_000,
  });
  const out = JSON.parse(stdout) as Record<string, unknown>;
  assert.deepEqual(out.appended, { revision: '2', body: { hello: 'world' }, author: 'packed' });
  assert.deepEqual(out.conflict, ['REVISION_CONFLICT', '2']);
  assert.equal(out.notFound, 'NOT_FOUND');
  assert.deepEqual(out.tailed, ['1', '2']);
  assert.equal(out.deepImport, 'ERR_PACKAGE_PATH_NOT_EXPORTED', 'generated code is internal');
  const exported = out.exports as string[];
  for (const name of ['createClient', 'ProgressDBError', 'isRetryable', 'Status', 'EventType']) {
    assert.ok(exported.includes(name), `exports ${name}`);
  }
  assert.ok(!exported.includes('ThreadServiceClient'), 'no generated client plumbing');
});

const CONSUMER = `
import {
  createClient,
  isRetryable,
  RevisionConflictError,
  type Event,
  type JsonValue,
  type Message,
  type ProgressDBClient,
  type Tail,
  type TailItem,
} from '@progressdb/client';

export async function use(address: string): Promise<JsonValue | undefined> {
  const client: ProgressDBClient = createClient({ address, apiKey: 'key', retry: { maxAttempts: 3 } });
  const { message, revision }: { message: Message; revision: bigint } = await client.messages.append({
    threadId: 't',
    body: { n: 1 },
    expectedRevision: 'no_thread',
  });
  const events: Tail<Event> = client.tail.thread('t', { afterRevision: revision });
  const items: Tail<TailItem> = client.tail.user({ caughtUp: true });
  events.close();
  items.close();
  try {
    await client.threads.update({ threadId: 't', title: 'x', expectedRevision: revision });
  } catch (error) {
    if (error instanceof RevisionConflictError && error.actual !== 'no_thread') return String(error.actual);
    if (isRetryable(error)) return null;
  }
  // @ts-expect-error: bodies are JSON values, not functions
  await client.messages.append({ threadId: 't', body: () => 1 });
  return message.body;
}
`;

test('TypeScript resolves the package types in a strict NodeNext project', async () => {
  await writeFile(join(scratch, 'consumer.ts'), CONSUMER);
  await writeFile(
    join(scratch, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: ['node'],
      },
      files: ['consumer.ts'],
    }),
  );
  const result = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: scratch }).then(
    () => '',
    (error: Error & { stdout?: string }) => error.stdout || error.message,
  );
  assert.equal(result, '', 'the consumer type-checks');
});
