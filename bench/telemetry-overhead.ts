/**
 * Measures what telemetry costs the server per append: this process runs the server in one mode,
 * a child process (this file with `client`) drives `AppendMessage` with a ~300 B body over many
 * threads with a fixed number in flight, and the server reports its own CPU time per append. Run
 * the modes one after another, alternating, and compare:
 *
 *   node --import tsx bench/telemetry-overhead.ts off
 *   node --import tsx bench/telemetry-overhead.ts on        # spans kept in process, metrics
 *   node --import tsx bench/telemetry-overhead.ts exported  # plus a batch span exporter
 *
 * Prints one JSON line: mode, appends per second of each round, the server's CPU µs per append.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { register } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const IN_FLIGHT = 64;
const WARMUP = 5000;
const PER_ROUND = 20_000;
const ROUNDS = 3;
const THREADS = 1000;
const KEY = 'overhead-backend-key-0123456789';

const [mode = 'off', address] = process.argv.slice(2);

if (mode === 'client') await drive(address ?? '');
else await serve(mode);

/** The load: rounds of appends; prints `round <rate>` after each and `warm` after the warm-up. */
async function drive(target: string): Promise<void> {
  const { connect } = await import('../test/support/api-client.js');
  const api = connect(target, { authorization: `Bearer ${KEY}`, 'x-user-id': 'bench' });
  const body = { text: 'x'.repeat(280) };
  const round = async (count: number): Promise<number> => {
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next < count) {
          const n = next++;
          await api.messages.appendMessage({
            threadId: `t-${n % THREADS}`,
            role: 'user',
            body,
            createThread: true,
          });
        }
      }),
    );
    return count / ((performance.now() - started) / 1000);
  };
  await round(WARMUP);
  process.stdout.write('warm\n');
  for (let i = 0; i < ROUNDS; i++)
    process.stdout.write(`round ${Math.round(await round(PER_ROUND))}\n`);
  api.close();
}

async function serve(telemetry: string): Promise<void> {
  if (telemetry !== 'off') {
    register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, {
      data: { include: ['@grpc/grpc-js'] },
    });
    const { startTelemetry } = await import('../src/telemetry/telemetry-runtime.js');
    if (telemetry === 'exported') {
      const { BatchSpanProcessor, InMemorySpanExporter } =
        await import('@opentelemetry/sdk-trace-base');
      const exporter = new InMemorySpanExporter();
      setInterval(() => exporter.reset(), 1000).unref();
      startTelemetry({ metrics: true, spanProcessors: [new BatchSpanProcessor(exporter)] });
    } else {
      startTelemetry({ metrics: true });
    }
  }
  const { loadConfig } = await import('../src/config/index.js');
  const { startApp } = await import('../src/app.js');
  const { createLogger } = await import('../src/telemetry/logger.js');
  const dataDir = await mkdtemp(join(tmpdir(), 'progressdb-overhead-'));
  const config = loadConfig({
    argv: [],
    env: {
      PROGRESSDB_DATA_DIR: dataDir,
      PROGRESSDB_LISTEN: '127.0.0.1:0',
      PROGRESSDB_BACKEND_KEYS: KEY,
      PROGRESSDB_ADMIN_KEYS: 'overhead-admin-key-0123456789',
      PROGRESSDB_DURABILITY: process.env.DURABILITY ?? 'os',
      PROGRESSDB_TELEMETRY: telemetry === 'off' ? 'off' : 'on',
      PROGRESSDB_METRICS_LISTEN: telemetry === 'off' ? 'off' : '127.0.0.1:0',
    },
  });
  const app = await startApp(config, createLogger({ level: 'silent' }));
  const client = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), 'client', app.address],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const rates: number[] = [];
  let cpuBefore = process.cpuUsage();
  for await (const line of createInterface({ input: client.stdout })) {
    if (line === 'warm') cpuBefore = process.cpuUsage();
    else if (line.startsWith('round ')) rates.push(Number(line.slice(6)));
  }
  const cpu = process.cpuUsage(cpuBefore);
  process.stdout.write(
    `${JSON.stringify({
      mode: telemetry,
      durability: config.durability,
      rates,
      serverCpuMicrosPerAppend: Math.round((cpu.user + cpu.system) / (ROUNDS * PER_ROUND)),
    })}\n`,
  );
  await app.close();
  await rm(dataDir, { recursive: true, force: true });
  process.exit(0);
}
