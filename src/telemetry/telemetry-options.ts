import type { TelemetryOptions } from './telemetry-runtime.js';

/**
 * What to start for the telemetry settings: nothing when off, and a Prometheus reader when
 * `/metrics` is served. One rule for the preload and for a start without it.
 * It imports no OpenTelemetry code: the preload reads it before registering the ESM hook.
 */
export function telemetryOptionsFor(settings: {
  readonly enabled: boolean;
  readonly metricsListen: unknown;
}): TelemetryOptions | undefined {
  return settings.enabled ? { metrics: settings.metricsListen !== undefined } : undefined;
}
