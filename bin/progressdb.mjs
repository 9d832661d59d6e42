#!/usr/bin/env node
// The `progressdb` command: registers tsx (the project runs its TypeScript sources directly), then
// runs the CLI in src/cli. Usage: progressdb --help
import { register } from 'tsx/esm/api';

// A person at a terminal cannot act on a dependency's deprecation notice (grpc-js sets an IP
// address as the TLS server name, DEP0123); it would only bury the answer.
process.noDeprecation = true;
register();
const { runCli } = await import('../src/cli/run-cli.ts');
await runCli(process.argv);
