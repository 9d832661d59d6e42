// Runs the node:test suites in one `node --test` process, so the runner prints one summary.
// Usage: node scripts/run-tests.mjs [all|root|sdk]   (default: all)
// Node 20's --test does not expand globs, so the files are listed here.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const repoRoot = join(import.meta.dirname, '..');
const skipDirs = new Set(['node_modules', 'dist', 'gen', '.git']);

/** Lists files under `dir` (recursively unless `deep` is false) whose name ends with `suffix`. */
function findTests(dir, suffix, deep = true) {
  let entries;
  try {
    entries = readdirSync(join(repoRoot, dir), { withFileTypes: true });
  } catch (err) {
    if (err.code === 'ENOENT') return [];
    throw err;
  }
  return entries.flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory())
      return deep && !skipDirs.has(entry.name) ? findTests(path, suffix) : [];
    return entry.isFile() && entry.name.endsWith(suffix) ? [path] : [];
  });
}

const suites = {
  root: () => [...findTests('src', '.test.ts'), ...findTests('test', '.test.ts')],
  sdk: () => [
    ...findTests('sdk/test', '.test.ts'),
    ...findTests('sdk/examples', '.test.ts', false),
  ],
};
suites.all = () => [...suites.root(), ...suites.sdk()];

const mode = process.argv[2] ?? 'all';
const suite = suites[mode];
if (suite === undefined) {
  console.error(`usage: node scripts/run-tests.mjs [${Object.keys(suites).join('|')}]`);
  process.exit(2);
}

const files = suite().sort();
if (files.length === 0) {
  console.error(`run-tests: no test files found for '${mode}'`);
  process.exit(1);
}

const args = [
  '--import',
  'tsx',
  '--test',
  '--test-force-exit',
  '--test-timeout=120000',
  // Tests start servers on RocksDB and the CI box has 2 cores: one file at a time.
  '--test-concurrency=1',
  ...files,
];
const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: 'inherit' });
child.on('exit', (code, signal) => {
  if (signal !== null) console.error(`run-tests: node --test killed by ${signal}`);
  process.exit(code ?? 1);
});
