import { readFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { TEST_KEYS } from './test-server.js';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const PRELOAD = fileURLToPath(new URL('../../src/telemetry/preload.mjs', import.meta.url));

/**
 * ProgressDB running as a child process as `npm start` runs it (`node --import tsx --import
 * src/telemetry/preload.mjs src/main.ts`), for crash and telemetry tests. Metrics are off unless
 * `env` sets `PROGRESSDB_METRICS_LISTEN`.
 */
export interface ChildServer {
  readonly address: string;
  readonly process: ChildProcess;
  /** Every stdout line so far. */
  readonly lines: readonly string[];
  /** Resolves with the next log line containing `text`. */
  waitForLine(text: string): Promise<string>;
  /** Sends `signal` and resolves with the exit code and signal once the process is gone. */
  stop(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the server in a child process on 127.0.0.1:0 and waits for its `listening` line. */
export async function spawnServer(
  dataDir: string,
  env: Record<string, string> = {},
): Promise<ChildServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', PRELOAD, MAIN], {
    env: {
      ...process.env,
      PROGRESSDB_DATA_DIR: dataDir,
      PROGRESSDB_LISTEN: '127.0.0.1:0',
      PROGRESSDB_ADMIN_KEYS: TEST_KEYS.admin,
      PROGRESSDB_BACKEND_KEYS: TEST_KEYS.backend,
      PROGRESSDB_LOG_LEVEL: 'info',
      PROGRESSDB_METRICS_LISTEN: 'off',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const seen: string[] = [];
  lines.on('line', (line) => seen.push(line));
  const address = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      if (!line.includes('listening')) return;
      const parsed = JSON.parse(line) as { address?: string };
      if (parsed.address) resolve(parsed.address);
    });
    exited.then(
      ([code]) => reject(new Error(`the server exited (${code}) before listening`)),
      reject,
    );
  });
  return {
    address,
    process: child,
    lines: seen,
    waitForLine: (text) =>
      new Promise((resolve) => {
        const onLine = (line: string): void => {
          if (!line.includes(text)) return;
          lines.off('line', onLine);
          resolve(line);
        };
        lines.on('line', onLine);
      }),
    async stop(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const [code, exitSignal] = await exited;
      return { code, signal: exitSignal };
    },
  };
}

/** The resident memory of process `pid`, in bytes (Linux: VmRSS of /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? 0) * 1024;
}
