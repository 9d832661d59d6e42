#!/usr/bin/env node
// The `progressdb` command: registers tsx (the project runs its TypeScript sources directly), then
// runs the CLI in src/cli. Usage: progressdb --help
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli/run-cli.ts');
await runCli(process.argv);
