import { Timestamp } from '@google-cloud/firestore';
import { ROOT_CONTEXT, context, propagation, trace, TraceFlags } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { StackContextManager } from '@opentelemetry/sdk-trace';
import { RELAY_METRIC_NAMES } from '../../../src/adapters/otel-metrics.js';
import { parseConfig } from '../../../src/config.js';
import { createRelay, type Relay } from '../../../src/create-relay.js';
import { createOutbox } from '../../../src/producer/index.js';
import { memoryLogger, relayEnv } from '../../support/function-server.js';
import { startOtlpReceiver, type OtlpReceiver } from '../../support/otlp-receiver.js';
import { useRelayFixture } from '../../support/relay-fixture.js';

const PRODUCER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PRODUCER_SPAN = '00f067aa0ba902b7';
const DIRECT_TRACE = '0af7651916cd43dd8448eb211c80319c';
const DIRECT_SPAN = 'b7ad6b7169203331';
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;

const fixture = useRelayFixture();
let receiver: OtlpReceiver;
const relays: Relay[] = [];

beforeAll(() => {
  // What an application with the OpenTelemetry SDK has: a W3C propagator and a context manager.
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  context.setGlobalContextManager(new StackContextManager().enable());
});
afterAll(() => {
  propagation.disable();
  context.disable();
});
beforeEach(async () => {
  receiver = await startOtlpReceiver();
});
afterEach(async () => {
  // The exporters' last flush finds the collector answering again.
  receiver.answer = 'ok';
  await Promise.all(relays.splice(0).map((relay) => relay.close()));
  await receiver.close();
});

/** The producer enqueues inside its request's span; another service writes a document with its own traceparent. */
async function seedBothWays(): Promise<{ enqueued: string; direct: string }> {
  const outbox = createOutbox(fixture.db, { collection: fixture.collections.outbox, shardCount: 1 });
  const batch = fixture.db.batch();
  const requestContext = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: PRODUCER_TRACE,
    spanId: PRODUCER_SPAN,
    traceFlags: TraceFlags.SAMPLED,
  });
  const enqueued = context.with(requestContext, () => outbox.enqueue(batch, { type: 'com.example.order.created', data: { orderId: 1 } }));
  await batch.commit();
  const direct = 'direct-1';
  await fixture.db
    .collection(fixture.collections.outbox)
    .doc(direct)
    .set({
      type: 'com.example.order.paid',
      data: { orderId: 1 },
      createdAt: Timestamp.now(),
      status: 'pending',
      traceparent: `00-${DIRECT_TRACE}-${DIRECT_SPAN}-01`,
      tracestate: 'vendor=abc',
    });
  return { enqueued, direct };
}

function relayWith(overrides: Record<string, string> = {}): Relay {
  const relay = createRelay(parseConfig(relayEnv(fixture.router.url, fixture.collections, overrides)), { logger: memoryLogger() });
  relays.push(relay);
  return relay;
}

function traceparentSeenFor(eventId: string): { traceId: string; spanId: string; raw: string } {
  const request = fixture.router.received.find((r) => r.eventId === eventId);
  const raw = String(request?.headers.traceparent ?? '');
  const match = TRACEPARENT.exec(raw);
  return { traceId: match?.[1] ?? '', spanId: match?.[2] ?? '', raw };
}

describe('Telemetry: the trace across the outbox hop', () => {
  it('stores the producer’s active trace context on the event at enqueue', async () => {
    // Prepare / Act
    const { enqueued } = await seedBothWays();
    // Assess
    const stored = (await fixture.db.collection(fixture.collections.outbox).doc(enqueued).get()).data();
    expect(stored?.traceparent).toBe(`00-${PRODUCER_TRACE}-${PRODUCER_SPAN}-01`);
    expect(stored?.tracestate).toBeUndefined();
  });

  it('sends the router a traceparent in the producer’s trace from a delivery span of its own, for enqueued and directly written events', async () => {
    // Prepare
    const { enqueued, direct } = await seedBothWays();
    // Act
    const result = await relayWith({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }).run('run-traced');
    // Assess
    expect(result.kind).toBe('ran');
    const sentEnqueued = traceparentSeenFor(enqueued);
    const sentDirect = traceparentSeenFor(direct);
    expect(sentEnqueued.traceId).toBe(PRODUCER_TRACE);
    expect(sentEnqueued.spanId).not.toBe(PRODUCER_SPAN);
    expect(sentDirect.traceId).toBe(DIRECT_TRACE);
    expect(sentDirect.spanId).not.toBe(DIRECT_SPAN);
    expect(fixture.router.received.find((r) => r.eventId === direct)?.headers.tracestate).toBe('vendor=abc');
  });

  it('exports, before the run answers, a run span and a delivery span per POST that is the child of the producer’s span', async () => {
    // Prepare
    const { enqueued } = await seedBothWays();
    // Act
    await relayWith({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }).run('run-spans');
    // Assess: nothing is awaited after the answer, so what the receiver has came before it.
    const run = receiver.spans.find((s) => s.name === 'outbox.relay.run');
    const delivery = receiver.spans.find((s) => s.name === 'outbox.deliver' && s.attributes['cloudevents.event_id'] === enqueued);
    expect(run?.attributes['outbox.run.id']).toBe('run-spans');
    expect(delivery).toMatchObject({
      traceId: PRODUCER_TRACE,
      parentSpanId: PRODUCER_SPAN,
      attributes: {
        'cloudevents.event_type': 'com.example.order.created',
        'outbox.delivery.attempt': 1,
        'outbox.delivery.verdict': 'delivered',
      },
    });
    expect(delivery?.spanId).toBe(traceparentSeenFor(enqueued).spanId);
    expect(delivery?.links).toEqual([{ traceId: run?.traceId, spanId: run?.spanId }]);
    expect(JSON.stringify(receiver.spans)).not.toContain('orderId');
  });

  it('exports the run’s metrics before it answers: latency, deliveries by outcome, attempts by verdict, backlog and run gauges', async () => {
    // Prepare
    await seedBothWays();
    // Act
    await relayWith({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }).run('run-metrics');
    // Assess
    const names = new Set(receiver.points.map((p) => p.metric));
    for (const name of [
      'outbox.relay.delivery.latency',
      'outbox.relay.deliveries',
      'outbox.relay.attempts',
      'outbox.relay.parked_keys',
      'outbox.relay.oldest_pending.age',
      'outbox.relay.run.duration',
      'outbox.relay.runs',
      'outbox.relay.run.failing',
      'outbox.relay.breaker.open',
    ])
      expect(names).toContain(name);
    for (const name of names) expect(RELAY_METRIC_NAMES).toContain(name);
    expect(receiver.points.find((p) => p.metric === 'outbox.relay.deliveries' && p.attributes.outcome === 'delivered')?.value).toBe(2);
    expect(receiver.points.find((p) => p.metric === 'outbox.relay.attempts' && p.attributes.verdict === 'delivered')?.value).toBe(2);
    expect(receiver.points.find((p) => p.metric === 'outbox.relay.run.failing')?.value).toBe(0);
  });

  it('forwards the stored traceparent unchanged when telemetry is off', async () => {
    // Prepare
    const { enqueued, direct } = await seedBothWays();
    // Act
    await relayWith().run('run-untraced');
    // Assess
    expect(traceparentSeenFor(enqueued).raw).toBe(`00-${PRODUCER_TRACE}-${PRODUCER_SPAN}-01`);
    expect(traceparentSeenFor(direct).raw).toBe(`00-${DIRECT_TRACE}-${DIRECT_SPAN}-01`);
    expect(receiver.requests).toEqual([]);
  });

  it('answers as without telemetry, within the flush bound, when the collector hangs', async () => {
    // Prepare
    await seedBothWays();
    receiver.answer = 'hang';
    const started = Date.now();
    // Act
    const result = await relayWith({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }).run('run-collector-down');
    // Assess: the flush gives up after 2 s. 8 s leaves a loaded 2-core machine room and is still below the
    // exporters' own 10 s timeout, so it is the relay's bound that ended the wait.
    expect(result).toMatchObject({ kind: 'ran', retryWanted: false, summary: { delivered: 2 } });
    expect(Date.now() - started).toBeLessThan(8_000);
  });
});
