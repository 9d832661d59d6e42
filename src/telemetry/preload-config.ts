import { loadConfig } from '../config/index.js';
import type { TelemetryOptions } from './telemetry-runtime.js';
import { telemetryOptionsFor } from './telemetry-options.js';

/**
 * What the preload should start, read from the same configuration `main.ts` loads: nothing when
 * telemetry is off or the configuration is invalid (main.ts then reports every problem).
 */
export function telemetryFromConfig(): TelemetryOptions | undefined {
  try {
    return telemetryOptionsFor(loadConfig().telemetry);
  } catch {
    return undefined;
  }
}
