// Preload for `node --import tsx --import ./src/telemetry/preload.mjs src/main.ts`: registers the
// OpenTelemetry ESM hook and starts the SDK before anything imports @grpc/grpc-js, so gRPC server
// calls get spans. With PROGRESSDB_TELEMETRY=off (or a configuration main.ts will refuse) it does
// nothing: no hook, no SDK. Needs tsx loaded first (it imports TypeScript).
import { register } from 'node:module';

const { telemetryFromConfig } = await import('./preload-config.ts');
const wanted = telemetryFromConfig();
if (wanted) {
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, {
    data: { include: ['@grpc/grpc-js'] },
  });
  const { startTelemetry, TelemetryConfigError } = await import('./telemetry-runtime.ts');
  try {
    startTelemetry(wanted);
  } catch (error) {
    // An OTEL_* setting the SDK cannot honour: one line, as main.ts reports a failed start.
    // Anything else is a bug, and keeps its stack.
    if (!(error instanceof TelemetryConfigError)) throw error;
    process.stderr.write(`progressdb failed to start: ${error.message}\n`);
    process.exit(1);
  }
}
