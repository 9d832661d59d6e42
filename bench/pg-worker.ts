/**
 * A PostgreSQL load process for the comparison rows, speaking the protocols of `load-worker.ts`
 * (closed loops: single-row inserts, 100-row inserts, newest-50 pages) and of `tail-worker.ts`
 * (LISTEN tails; paced inserts that NOTIFY in the same transaction). One connection per call in
 * flight, like a pool sized to the load. `node --import tsx bench/pg-worker.ts`, IPC channel.
 */
import pg from 'pg';
import { LatencyHistogram } from './latency-histogram.js';
import { makeBody } from './request-payloads.js';
import {
  type AppendTask,
  monotonicUs,
  STAMP_PREFIX,
  type TailTask,
  type TailWorkerMessage,
  type WindowCommand,
} from './tail-protocol.js';
import type { LoadTask, WorkerMessage } from './worker-protocol.js';

// Rows come back as text, not parsed: like the gRPC load generator, which does not decode
// responses, the client spends its CPU on calls (jsonb = 3802, timestamptz = 1184).
pg.types.setTypeParser(3802, (value: string) => value);
pg.types.setTypeParser(1184, (value: string) => value);

/** The LISTEN/NOTIFY channel of the tail rows. */
const CHANNEL = 'bench_tail';
const INSERT = `INSERT INTO messages (thread_id, author_id, role, body) VALUES ($1, $2, 'user', $3) RETURNING id`;

function send(message: WorkerMessage | TailWorkerMessage, exit = false): void {
  if (!process.connected) process.exit(exit ? 0 : 1);
  process.send?.(message, undefined, undefined, () => {
    if (exit) process.exit(0);
  });
}

let windowWaiter: ((window: WindowCommand) => void) | undefined;
let windowReceived: WindowCommand | undefined;
function nextWindow(): Promise<WindowCommand> {
  if (windowReceived) return Promise.resolve(windowReceived);
  return new Promise((resolve) => (windowWaiter = resolve));
}

function sleepUntil(epochMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, epochMs - Date.now())));
}

async function connectAll(connectionString: string, count: number): Promise<pg.Client[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const client = new pg.Client({ connectionString });
      await client.connect();
      client.on('error', () => undefined);
      return client;
    }),
  );
}

/** A statement and its parameters for one call of the closed loop. */
function statements(task: LoadTask): () => { text: string; values: unknown[] } {
  const bodies = Array.from({ length: 16 }, (_, i) => JSON.stringify(makeBody(task.bodyBytes, i)));
  const body = (i: number): string => bodies[i % bodies.length] as string;
  const thread = (): string =>
    task.threadIds[Math.floor(Math.random() * task.threadIds.length)] as string;
  switch (task.kind) {
    case 'appendMessage':
      return () => ({
        text: INSERT,
        values: [thread(), task.userId, body(Math.floor(Math.random() * 16))],
      });
    case 'appendMessages': {
      const rows = Array.from(
        { length: task.batchSize },
        (_, i) => `($${3 * i + 1}, $${3 * i + 2}, 'user', $${3 * i + 3})`,
      );
      const text = `INSERT INTO messages (thread_id, author_id, role, body) VALUES ${rows.join(', ')} RETURNING id`;
      return () => {
        const threadId = thread();
        return {
          text,
          values: Array.from({ length: task.batchSize }, (_, i) => [
            threadId,
            task.userId,
            body(i),
          ]).flat(),
        };
      };
    }
    case 'listMessages': {
      const head = Number(task.listHeadSeq);
      const low = Number(task.listLowSeq ?? 1);
      const columns = 'id, thread_id, author_id, role, body, created_at';
      let calls = 0;
      return () =>
        calls++ % 2 === 0
          ? {
              text: `SELECT ${columns} FROM messages WHERE thread_id = $1 ORDER BY id DESC LIMIT $2`,
              values: [task.listThreadId, task.pageSize],
            }
          : {
              text: `SELECT ${columns} FROM messages WHERE thread_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`,
              values: [
                task.listThreadId,
                low +
                  task.pageSize +
                  Math.floor(Math.random() * Math.max(1, head - low - task.pageSize)),
                task.pageSize,
              ],
            };
    }
  }
}

async function closedLoop(task: LoadTask): Promise<void> {
  const clients = await connectAll(task.address, task.concurrency);
  const next = statements(task);
  send({ type: 'ready', requestBytes: 0 });
  const window = await nextWindow();
  const histogram = new LatencyHistogram();
  const errors: Record<string, number> = {};
  let firstError: string | undefined;
  let invalidResponse: string | undefined;
  let calls = 0;
  let stopping = false;
  const loops = clients.map(async (client) => {
    while (!stopping) {
      const statement = next();
      const started = performance.now();
      try {
        const result = await client.query(statement);
        const now = Date.now();
        if (now >= window.windowStartMs && now < window.windowEndMs) {
          calls++;
          histogram.record((performance.now() - started) * 1000);
          if (task.kind === 'listMessages' && result.rowCount !== task.pageSize) {
            invalidResponse ??= `SELECT returned ${result.rowCount} rows, expected ${task.pageSize}`;
          }
        }
      } catch (err) {
        errors.pg = (errors.pg ?? 0) + 1;
        firstError ??= String(err);
      }
    }
  });
  await sleepUntil(window.windowStartMs);
  const cpuAtStart = process.cpuUsage();
  await sleepUntil(window.windowEndMs);
  const cpu = process.cpuUsage(cpuAtStart);
  stopping = true;
  await Promise.all(loops);
  await Promise.all(clients.map((client) => client.end()));
  send(
    {
      type: 'report',
      calls,
      errors,
      firstError,
      invalidResponse,
      latencies: histogram.snapshot(),
      cpuUserUs: cpu.user,
      cpuSystemUs: cpu.system,
      windowMs: window.windowEndMs - window.windowStartMs,
    },
    true,
  );
}

async function listen(task: TailTask): Promise<void> {
  const clients = await connectAll(task.address, task.tails.length);
  const histogram = new LatencyHistogram();
  let count = 0;
  const measured: { window?: WindowCommand } = {};
  for (const client of clients) {
    client.on('notification', (message) => {
      const now = Date.now();
      const window = measured.window;
      if (!window || now < window.windowStartMs || now >= window.windowEndMs) return;
      count++;
      const payload = message.payload ?? '';
      if (payload.startsWith(STAMP_PREFIX)) {
        histogram.record(monotonicUs() - Number(payload.slice(STAMP_PREFIX.length).split('~')[0]));
      }
    });
    await client.query(`LISTEN ${CHANNEL}`);
  }
  send({ type: 'ready', opened: clients.length });
  const window = await nextWindow();
  measured.window = window;
  await sleepUntil(window.windowStartMs);
  const cpuAtStart = process.cpuUsage();
  await sleepUntil(window.windowEndMs);
  const cpu = process.cpuUsage(cpuAtStart);
  await Promise.all(clients.map((client) => client.end()));
  send(
    {
      type: 'report',
      count,
      latencies: histogram.snapshot(),
      errors: {},
      firstError: undefined,
      replays: [],
      late: 0,
      cpuUserUs: cpu.user,
      cpuSystemUs: cpu.system,
      windowMs: window.windowEndMs - window.windowStartMs,
    },
    true,
  );
}

async function notifyingInserts(task: AppendTask): Promise<void> {
  const idle = await connectAll(task.address, Math.min(task.concurrency, 64));
  const body = JSON.stringify(makeBody(task.bodyBytes));
  const text = `WITH m AS (${INSERT}) SELECT pg_notify('${CHANNEL}', $4 || m.id::text) FROM m`;
  send({ type: 'ready', opened: idle.length });
  const window = await nextWindow();
  const histogram = new LatencyHistogram();
  const errors: Record<string, number> = {};
  let firstError: string | undefined;
  let count = 0;
  let issued = 0;
  let late = 0;
  let stopping = false;
  let inFlight = 0;
  const issue = (client: pg.Client): void => {
    inFlight++;
    const stamp = monotonicUs();
    const threadId = task.threadIds[issued % task.threadIds.length] as string;
    client
      .query(text, [threadId, task.headers['x-user-id'], body, `${STAMP_PREFIX}${stamp}~`])
      .then(
        () => {
          const now = Date.now();
          if (now >= window.windowStartMs && now < window.windowEndMs) {
            count++;
            histogram.record(monotonicUs() - stamp);
          }
        },
        (err: unknown) => {
          errors.pg = (errors.pg ?? 0) + 1;
          firstError ??= String(err);
        },
      )
      .finally(() => {
        inFlight--;
        idle.push(client);
      });
  };
  const startedAt = performance.now();
  const pace = (): void => {
    if (stopping) return;
    const due = Math.floor(((performance.now() - startedAt) / 1000) * task.ratePerSec);
    while (issued < due) {
      const client = idle.pop();
      if (!client) {
        late += due - issued;
        issued = due;
        break;
      }
      issued++;
      issue(client);
    }
    setTimeout(pace, 1);
  };
  pace();
  await sleepUntil(window.windowStartMs);
  const cpuAtStart = process.cpuUsage();
  const lateAtStart = late;
  await sleepUntil(window.windowEndMs);
  const cpu = process.cpuUsage(cpuAtStart);
  stopping = true;
  const drainedBy = Date.now() + 10_000;
  while (inFlight > 0 && Date.now() < drainedBy) await new Promise((r) => setTimeout(r, 5));
  send(
    {
      type: 'report',
      count,
      latencies: histogram.snapshot(),
      errors,
      firstError,
      replays: [],
      late: late - lateAtStart,
      cpuUserUs: cpu.user,
      cpuSystemUs: cpu.system,
      windowMs: window.windowEndMs - window.windowStartMs,
    },
    true,
  );
}

process.on('message', (message: LoadTask | TailTask | AppendTask | WindowCommand) => {
  if (message.type === 'start') {
    windowReceived = message;
    windowWaiter?.(message);
    return;
  }
  const run =
    message.type === 'task'
      ? closedLoop(message)
      : message.type === 'tails'
        ? listen(message)
        : notifyingInserts(message);
  run.catch((err: unknown) => send({ type: 'failure', message: String(err) }, true));
});

process.on('disconnect', () => process.exit(0));
