import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestServer, TEST_KEYS, type TestServer } from '../support/test-server.js';
import { runCli, type CliRunOptions } from './cli-process.js';

let server: TestServer;
let backend: CliRunOptions;
let admin: CliRunOptions;

before(async () => {
  server = await startTestServer();
  backend = {
    env: { PROGRESSDB_ADDRESS: server.address, PROGRESSDB_API_KEY: TEST_KEYS.backend },
  };
  admin = { env: { PROGRESSDB_ADDRESS: server.address, PROGRESSDB_API_KEY: TEST_KEYS.admin } };
});

after(async () => {
  await server.close();
});

/** Parses every line of `text` as JSON. */
function jsonLines(text: string): unknown[] {
  return text
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as unknown);
}

describe('append and messages', () => {
  test('append creates the thread; messages shows seq, author (role) and body, oldest first', async () => {
    const first = await runCli(['append', 'cli-chat', 'Hello there', '--user', 'alice'], backend);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^appended \S+ to cli-chat at seq 2\n$/);
    const second = await runCli(
      ['append', 'cli-chat', '{"text":"hi","lang":"en"}', '--json-body', '--role', 'assistant'],
      { env: { ...backend.env, PROGRESSDB_USER: 'bot' } },
    );
    assert.equal(second.code, 0, second.stderr);

    const page = await runCli(['messages', 'cli-chat'], backend);
    assert.equal(page.code, 0, page.stderr);
    const lines = page.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^SEQ\s+TIME\s+AUTHOR\s+BODY$/);
    assert.match(
      lines[1] ?? '',
      /^\s+2 {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ {2}alice \(user\)\s+Hello there$/,
    );
    assert.match(
      lines[2] ?? '',
      /^\s+3 {2}\S+ \S+ {2}bot \(assistant\)\s+\{"text":"hi","lang":"en"\}$/,
    );
    assert.equal(lines.length, 3);
  });

  test('append --json prints the stored message; the body is JSON with --json-body', async () => {
    const result = await runCli(
      ['append', 'cli-json', '[1,2,3]', '--json-body', '--json', '--user', 'alice'],
      backend,
    );
    assert.equal(result.code, 0, result.stderr);
    const [answer] = jsonLines(result.stdout) as [
      { message: { body: unknown; seq: number; threadId: string }; revision: number },
    ];
    assert.deepEqual(answer.message.body, [1, 2, 3]);
    assert.equal(answer.message.threadId, 'cli-json');
    assert.equal(answer.revision, answer.message.seq);
  });

  test('append - reads the body from stdin; --json-body with bad JSON exits 2', async () => {
    const piped = await runCli(['append', 'cli-stdin', '-', '--user', 'alice'], {
      ...backend,
      input: 'from a pipe\n',
    });
    assert.equal(piped.code, 0, piped.stderr);
    const page = await runCli(['messages', 'cli-stdin', '--json'], backend);
    const [body] = (jsonLines(page.stdout) as [{ messages: { body: unknown }[] }])[0].messages.map(
      (m) => m.body,
    );
    assert.equal(body, 'from a pipe');

    const bad = await runCli(['append', 'cli-stdin', '{oops', '--json-body'], backend);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^progressdb: --json-body: the text is not valid JSON/);
  });

  test('messages pages with --limit, --before and --after, and reads everything with --all', async () => {
    for (let i = 1; i <= 5; i++) {
      const result = await runCli(
        ['append', 'cli-pages', `message ${i}`, '--user', 'alice'],
        backend,
      );
      assert.equal(result.code, 0, result.stderr);
    }
    // The thread was created at revision 1; the messages have seqs 2 to 6.
    const newest = await runCli(['messages', 'cli-pages', '--limit', '2'], backend);
    assert.equal(newest.code, 0, newest.stderr);
    assert.match(newest.stdout, /message 4\n.*message 5\n$/);
    assert.match(newest.stderr, /^older: --before 5$/m);

    const older = await runCli(['messages', 'cli-pages', '--limit', '2', '--before', '5'], backend);
    assert.match(older.stdout, /message 2\n.*message 3\n$/);

    const newer = await runCli(['messages', 'cli-pages', '--limit', '2', '--after', '2'], backend);
    assert.match(newer.stdout, /message 2\n.*message 3\n$/);

    const all = await runCli(['messages', 'cli-pages', '--all', '--limit', '2', '--json'], backend);
    assert.equal(all.code, 0, all.stderr);
    const bodies = (jsonLines(all.stdout) as { body: string; seq: number }[]).map((m) => m.body);
    assert.deepEqual(bodies, ['message 1', 'message 2', 'message 3', 'message 4', 'message 5']);
  });

  test('messages of an unknown thread: plain words and exit 1', async () => {
    const result = await runCli(['messages', 'no-such-thread'], backend);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr, 'progressdb: thread no-such-thread not found (THREAD_NOT_FOUND)\n');
  });
});

describe('threads', () => {
  test('lists the user’s threads, most recently active first, with a page token', async () => {
    for (const id of ['inbox-a', 'inbox-b', 'inbox-c']) {
      const result = await runCli(['append', id, `hello from ${id}`, '--user', 'tess'], backend);
      assert.equal(result.code, 0, result.stderr);
    }
    const table = await runCli(['threads', '--user', 'tess'], backend);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^THREAD\s+TITLE\s+MESSAGES\s+REVISION\s+ACTIVE\s+LAST MESSAGE$/);
    assert.deepEqual(
      lines.slice(1).map((line) => line.split(' ')[0]),
      ['inbox-c', 'inbox-b', 'inbox-a'],
    );
    assert.match(lines[1] ?? '', /just now\s+tess: hello from inbox-c$/);

    const first = await runCli(['threads', '--user', 'tess', '--limit', '2', '--json'], backend);
    assert.equal(first.code, 0, first.stderr);
    const page = JSON.parse(first.stdout) as { threads: { id: string }[]; nextPageToken: string };
    assert.deepEqual(
      page.threads.map((t) => t.id),
      ['inbox-c', 'inbox-b'],
    );
    const rest = await runCli(
      ['threads', '--user', 'tess', '--limit', '2', '--page-token', page.nextPageToken, '--json'],
      backend,
    );
    const last = JSON.parse(rest.stdout) as { threads: { id: string }[]; nextPageToken?: string };
    assert.deepEqual(
      last.threads.map((t) => t.id),
      ['inbox-a'],
    );
    assert.equal(last.nextPageToken, undefined);

    const all = await runCli(
      ['threads', '--of', 'tess', '--limit', '1', '--all', '--json'],
      backend,
    );
    assert.deepEqual(
      (jsonLines(all.stdout) as { id: string }[]).map((t) => t.id),
      ['inbox-c', 'inbox-b', 'inbox-a'],
    );
  });

  test('without a user: a usage error', async () => {
    const result = await runCli(['threads'], backend);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^progressdb: threads lists one user’s threads: pass --user/);
  });
});

describe('admin commands', () => {
  test('stats prints aligned counts, and --json prints numbers', async () => {
    const human = await runCli(['stats'], admin);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^threads {6}\d+/m);
    assert.match(human.stdout, /^messages {5}\d+/m);
    assert.match(human.stdout, /^uptime {7}\d+/m);

    const json = await runCli(['stats', '--json'], admin);
    assert.equal(json.code, 0, json.stderr);
    const stats = JSON.parse(json.stdout) as { threads: number; messages: number; events: number };
    assert.equal(typeof stats.threads, 'number');
    assert.ok(stats.events >= stats.messages);
  });

  test('stats with a backend key: ROLE_FORBIDDEN in plain words, exit 1', async () => {
    const result = await runCli(['stats'], backend);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^progressdb: this API key may not do that: .*\(ROLE_FORBIDDEN\)\n$/,
    );
  });

  test('a wrong API key: plain words and exit 1', async () => {
    const result = await runCli(['stats', '--api-key', 'not-a-key-0123456789'], admin);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /refused the API key.*\(INVALID_API_KEY\)\n$/);
  });

  test('without --api-key, admin commands read the admin key of ./data/api-keys.json', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'progressdb-cli-'));
    try {
      await mkdir(join(folder, 'data'));
      await writeFile(
        join(folder, 'data', 'api-keys.json'),
        JSON.stringify({ admin: [TEST_KEYS.admin], backend: [TEST_KEYS.backend] }),
      );
      const env = { PROGRESSDB_ADDRESS: server.address };
      const stats = await runCli(['stats', '--json'], { env, cwd: folder });
      assert.equal(stats.code, 0, stats.stderr);
      const append = await runCli(['append', 'key-file', 'hi', '--user', 'kim'], {
        env,
        cwd: folder,
      });
      assert.equal(append.code, 0, append.stderr);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  test('rewrap re-wraps every data key and reports progress on stderr', async () => {
    const result = await runCli(['rewrap', '--json'], admin);
    assert.equal(result.code, 0, result.stderr);
    const answer = JSON.parse(result.stdout) as { done: number; total: number };
    assert.ok(answer.total > 0);
    assert.equal(answer.done, answer.total);
    assert.match(result.stderr, /re-wrapping data keys: \d+ \/ \d+/);

    const human = await runCli(['rewrap'], admin);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^re-wrapped \d+ data keys?\n$/);
  });
});
