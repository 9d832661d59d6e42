import { type ChildProcess, fork, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** A server running in a child process. */
export interface ServerProcess {
  /** `host:port` to connect to. */
  address: string;
  pid: number;
  /** Stops the server (SIGTERM, then SIGKILL) and removes what it left behind. */
  stop(): Promise<void>;
}

/** The settings ProgressDB is started with. */
export interface ProgressDbOptions {
  repoRoot: string;
  durability: string;
  backendKey: string;
  adminKey: string;
  startTimeoutMs: number;
  /** When set, the server runs under `--cpu-prof` and writes its profile into this folder. */
  cpuProfileDir?: string | undefined;
  /** More environment for the server (PROGRESSDB_* settings). */
  env?: Record<string, string>;
}

const ADDRESS_PATTERN = /(\d+\.\d+\.\d+\.\d+|\[[^\]]+\]|localhost):(\d+)/;

/**
 * Starts the real server (`node --import tsx src/main.ts`) on `127.0.0.1:0` with a fresh data folder,
 * and resolves once it has logged the line with `listening` and its bound address.
 * @throws when the server exits or stays silent before listening.
 */
export async function startProgressDb(options: ProgressDbOptions): Promise<ServerProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), 'progressdb-bench-'));
  const profiling = options.cpuProfileDir
    ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir]
    : [];
  const child = spawn(process.execPath, [...profiling, '--import', 'tsx', 'src/main.ts'], {
    cwd: options.repoRoot,
    env: {
      ...process.env,
      PROGRESSDB_LISTEN: '127.0.0.1:0',
      PROGRESSDB_DATA_DIR: dataDir,
      PROGRESSDB_BACKEND_KEYS: options.backendKey,
      PROGRESSDB_ADMIN_KEYS: options.adminKey,
      PROGRESSDB_DURABILITY: options.durability,
      PROGRESSDB_LOG_LEVEL: 'info',
      // A fixed metrics port would collide with other servers on the machine.
      PROGRESSDB_METRICS_LISTEN: 'off',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const recent: string[] = [];
  const remember = (line: string): void => {
    recent.push(line);
    if (recent.length > 20) recent.shift();
  };
  // Keep draining both pipes for the server's whole life: a full pipe would stall it.
  createInterface({ input: child.stderr }).on('line', remember);
  const stdout = createInterface({ input: child.stdout });
  const cleanUp = async (): Promise<void> => {
    await stopChild(child);
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const address = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no "listening" line within ${options.startTimeoutMs} ms`)),
        options.startTimeoutMs,
      );
      stdout.on('line', (line) => {
        remember(line);
        const match = line.includes('listening') ? ADDRESS_PATTERN.exec(line) : null;
        if (!match) return;
        clearTimeout(timer);
        const host = match[1] === '0.0.0.0' || match[1] === '[::]' ? '127.0.0.1' : match[1];
        resolve(`${host}:${match[2]}`);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the server exited (${signal ?? code}) before listening`));
      });
    });
    return { address, pid: child.pid ?? 0, stop: cleanUp };
  } catch (err) {
    await cleanUp();
    const detail = recent.map((line) => `    ${line}`).join('\n');
    throw new Error(`${(err as Error).message}; its last output:\n${detail}`, { cause: err });
  }
}

/**
 * Starts a baseline server in its own process: `echo-server.ts` (unary) or `stream-echo-server.ts`
 * (unary and streaming), with extra environment.
 */
export async function startEchoServer(
  benchDir: string,
  script: 'echo-server.ts' | 'stream-echo-server.ts' = 'echo-server.ts',
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  const child = fork(join(benchDir, script), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
  const address = await new Promise<string>((resolve, reject) => {
    child.once('message', (message: { address: string }) => resolve(message.address));
    child.once('exit', (code) => reject(new Error(`the echo server exited (${code})`)));
  });
  return { address, pid: child.pid ?? 0, stop: () => stopChild(child) };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
