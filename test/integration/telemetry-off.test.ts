import assert from 'node:assert/strict';
import { test } from 'node:test';
import { metrics, trace } from '@opentelemetry/api';
import { telemetryRuntime } from '../../src/telemetry/index.js';
import { startTestServer } from '../support/test-server.js';

test('PROGRESSDB_TELEMETRY=off starts nothing: no SDK, no endpoint, no-op API', async () => {
  const server = await startTestServer({
    env: { PROGRESSDB_TELEMETRY: 'off', PROGRESSDB_METRICS_LISTEN: '127.0.0.1:0' },
  });
  try {
    const api = server.api();
    await api.messages.appendMessage({
      threadId: 'dark',
      role: 'user',
      body: 1,
      createThread: true,
    });
    await api.messages.listMessages({ threadId: 'dark' });
    api.close();
    assert.equal(server.app.metricsUrl, undefined, 'no /metrics endpoint');
    assert.equal(telemetryRuntime(), undefined, 'no SDK');
    assert.equal(metrics.getMeterProvider().constructor.name, 'NoopMeterProvider');
    const span = trace.getTracer('probe').startSpan('probe');
    assert.equal(span.isRecording(), false, 'spans are no-ops');
    span.end();
  } finally {
    await server.close();
  }
});
