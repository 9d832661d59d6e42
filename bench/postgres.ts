import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * A throwaway PostgreSQL cluster on loopback for the comparison rows: Debian's packages (installed
 * with apt-get when missing and running as root), `initdb` in a temp folder, `pg_ctl start` on a free
 * port, as the `postgres` user when running as root. Default durability: `fsync` and
 * `synchronous_commit` on, so a committed insert is durable like ProgressDB's `sync` mode.
 */
export interface PostgresCluster {
  connectionString: string;
  version: string;
  /** The postmaster and every backend (its children), for CPU accounting. */
  pids(): number[];
  stop(): Promise<void>;
}

/** The messages table of the comparison: what a chat app would create in PostgreSQL. */
export const SCHEMA = `
  CREATE TABLE messages (
    id bigserial PRIMARY KEY,
    thread_id text NOT NULL,
    author_id text NOT NULL,
    role text NOT NULL,
    body jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  );
  CREATE INDEX messages_thread_id ON messages (thread_id, id);
`;

function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * Installs (if needed and allowed) and starts PostgreSQL.
 * @throws with the reason when it cannot: the scenario is then skipped and says why.
 */
export async function startPostgres(): Promise<PostgresCluster> {
  const root = userInfo().uid === 0;
  let bin = binDir();
  if (!bin) {
    if (!root) throw new Error('PostgreSQL is not installed and installing it needs root');
    console.log('  installing PostgreSQL: apt-get update && apt-get install -y postgresql');
    execFileSync(
      'sh',
      ['-c', 'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql'],
      {
        stdio: 'inherit',
      },
    );
    bin = binDir();
    if (!bin) throw new Error('apt-get install postgresql did not provide initdb');
  }
  const dir = await mkdtemp(join(tmpdir(), 'progressdb-bench-pg-'));
  const data = join(dir, 'data');
  let uid: number | undefined;
  if (root) {
    uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    await chown(dir, uid, gid);
  }
  const binaries = bin;
  const run = (program: string, args: string[]): string =>
    execFileSync(
      root ? 'runuser' : join(binaries, program),
      root ? ['-u', 'postgres', '--', join(binaries, program), ...args] : args,
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
  const port = await freePort();
  try {
    run('initdb', ['-D', data, '-U', 'bench', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
    const options = [
      `-p ${port}`,
      `-k ${dir}`,
      '-c listen_addresses=127.0.0.1',
      '-c max_connections=400',
      '-c shared_buffers=256MB',
    ].join(' ');
    run('pg_ctl', ['-D', data, '-l', join(dir, 'postgres.log'), '-w', '-o', options, 'start']);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`PostgreSQL did not start: ${(err as Error).message} ${stderr}`, {
      cause: err,
    });
  }
  const postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const connectionString = `postgresql://bench@127.0.0.1:${port}/postgres`;
  const client = new pg.Client({ connectionString });
  await client.connect();
  const version = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]
    ?.server_version;
  await client.query(SCHEMA);
  await client.end();
  return {
    connectionString,
    version: version ?? '?',
    pids: () => [postmaster, ...childrenOf(postmaster)],
    async stop() {
      try {
        run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

function childrenOf(parent: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) children.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return children;
}
