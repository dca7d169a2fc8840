import { GeoPoint, Timestamp, FieldValue } from '@google-cloud/firestore';
import request from 'supertest';
import { memoryLogger, relayEnv, serveHandler } from '../../support/function-server.js';
import { readAll } from '../../support/outbox-fixtures.js';
import { useRelayFixture } from '../../support/relay-fixture.js';

const fx = useRelayFixture();

const run = () => request(serveHandler({ env: relayEnv(fx.router.url, fx.collections), logger: memoryLogger() })).post('/');

describe('Fidelity: what a producer stored is what the router receives', () => {
  it('sends Firestore values inside data in their documented JSON forms', async () => {
    const outbox = fx.db.collection(fx.collections.outbox);
    await outbox.doc('forms').set({
      type: 'com.example.t',
      createdAt: Timestamp.fromMillis(Date.UTC(2026, 0, 1)),
      status: 'pending',
      data: {
        at: new Timestamp(1_767_225_600, 123_456_000),
        raw: Buffer.from([1, 2, 255]),
        ref: outbox.doc('other'),
        where: new GeoPoint(52.5, 13.4),
        embedding: FieldValue.vector([0.5, 1.5]),
        big: 123_456_789_012_345_678n,
      },
    });

    const response = await run();

    expect(response.body).toMatchObject({ delivered: 1 });
    expect(fx.router.received[0]?.body).toBe(
      `{"at":"2026-01-01T00:00:00.123456Z","raw":"AQL/","ref":"${fx.collections.outbox}/other","where":{"latitude":52.5,"longitude":13.4},"embedding":[0.5,1.5],"big":123456789012345678}`,
    );
  });

  it('dead-letters a document without a status, like other strays, naming the field', async () => {
    await fx.db.collection(fx.collections.outbox).doc('no-status').set({ type: 'com.example.t', data: {}, createdAt: Timestamp.now() });

    const response = await run();

    expect(response.body).toMatchObject({ deadLettered: 1, delivered: 0 });
    const stored = (await readAll(fx.db, fx.collections.outbox)).get('no-status');
    expect(stored).toMatchObject({
      status: 'dead_letter',
      deadLetterReason: 'malformed: event no-status: status must be "pending" (got nothing)',
    });
    expect(fx.router.received).toHaveLength(0);
  });

  it('dead-letters a document whose data holds Infinity, naming the field, instead of sending null', async () => {
    await fx.db
      .collection(fx.collections.outbox)
      .doc('inf')
      .set({ type: 'com.example.t', data: { ratio: Number.POSITIVE_INFINITY }, createdAt: Timestamp.now(), status: 'pending' });

    const response = await run();

    expect(response.body).toMatchObject({ deadLettered: 1 });
    expect((await readAll(fx.db, fx.collections.outbox)).get('inf')?.deadLetterReason).toBe(
      'malformed: event inf: data.ratio is Infinity, which JSON cannot carry',
    );
  });
});
