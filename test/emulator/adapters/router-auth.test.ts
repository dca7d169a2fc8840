import { Webhook } from 'standardwebhooks';
import request from 'supertest';
import { memoryLogger, relayEnv, serveHandler } from '../../support/function-server.js';
import type { RouterScript } from '../../support/loopback-router.js';
import { idsWithStatus, seedEvents } from '../../support/outbox-fixtures.js';
import { useRelayFixture } from '../../support/relay-fixture.js';
import { createOutbox, InvalidEventError } from '../../../src/producer/index.js';

const SECRET = `whsec_${Buffer.from('a-shared-secret-of-32-bytes-long').toString('base64')}`;

/** The router side: accept only requests whose Standard Webhooks signature verifies. */
function verifyingRouter(): RouterScript {
  const verifier = new Webhook(SECRET);
  return (req) => {
    try {
      verifier.verify(req.body, req.headers as Record<string, string>);
      return { respond: 200 };
    } catch {
      return { respond: 401, body: 'bad signature' };
    }
  };
}

describe('Router authentication: ROUTER_AUTH=hmac', () => {
  const fx = useRelayFixture(verifyingRouter);

  it('signs natural ids exactly as sent, so a Standard Webhooks verifier accepts them', async () => {
    const outbox = createOutbox(fx.db, { collection: fx.collections.outbox, shardCount: 1 });
    const batch = fx.db.batch();
    const ids = ['order-42:created', 'user@example.com+welcome', 'inv_2026.01~a=b'].map((id) =>
      outbox.enqueue(batch, { type: 'com.example.t', data: {}, id }),
    );
    await batch.commit();

    const response = await request(
      serveHandler({
        env: relayEnv(fx.router.url, fx.collections, { ROUTER_AUTH: 'hmac', ROUTER_HMAC_SECRET: SECRET }),
        logger: memoryLogger(),
      }),
    ).post('/');

    expect(response.body).toMatchObject({ delivered: 3, deadLettered: 0 });
    expect(fx.router.received.map((r) => [r.headers['webhook-id'], r.headers['ce-id'], r.headers['idempotency-key']])).toEqual(
      expect.arrayContaining(ids.map((id) => [id, id, id])),
    );
  });

  it('refuses a natural id outside the header-safe set at enqueue, and dead-letters a stored one in its first run without POSTing it', async () => {
    const outbox = createOutbox(fx.db, { collection: fx.collections.outbox, shardCount: 1 });
    expect(() => outbox.enqueue(fx.db.batch(), { type: 'com.example.t', data: {}, id: 'commande-42-créée' })).toThrow(InvalidEventError);
    await fx.db
      .collection(fx.collections.outbox)
      .doc('commande-42-créée')
      .set({ type: 'com.example.t', data: {}, createdAt: new Date(), status: 'pending' });

    const response = await request(
      serveHandler({
        env: relayEnv(fx.router.url, fx.collections, { ROUTER_AUTH: 'hmac', ROUTER_HMAC_SECRET: SECRET }),
        logger: memoryLogger(),
      }),
    ).post('/');

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ delivered: 0, deadLettered: 1 });
    expect(fx.router.received).toHaveLength(0);
    const stored = await fx.db.collection(fx.collections.outbox).doc('commande-42-créée').get();
    expect(stored.get('deadLetterReason')).toMatch(/id cannot be sent unchanged in ce-id, idempotency-key and webhook-id/);
  });

  it('signs every POST so the router can verify it with the shared secret', async () => {
    const ids = await seedEvents(fx.db, fx.collections.outbox, 3);

    const response = await request(
      serveHandler({
        env: relayEnv(fx.router.url, fx.collections, { ROUTER_AUTH: 'hmac', ROUTER_HMAC_SECRET: SECRET }),
        logger: memoryLogger(),
      }),
    ).post('/');

    expect(response.body).toMatchObject({ delivered: 3, deadLettered: 0 });
    expect(await idsWithStatus(fx.db, fx.collections.outbox, 'delivered')).toEqual(ids);
    expect(fx.router.received.map((r) => r.headers['webhook-id'])).toEqual(expect.arrayContaining(ids));
  });

  it('stops the run with a 500, dead-lettering nothing, when the router refuses the signature', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 1);
    const other = `whsec_${Buffer.from('another-secret-that-is-32-bytes!').toString('base64')}`;

    const env = relayEnv(fx.router.url, fx.collections, { ROUTER_AUTH: 'hmac', ROUTER_HMAC_SECRET: other, POST_RETRIES: '0' });
    const response = await request(serveHandler({ env, logger: memoryLogger() })).post('/');

    expect(response.status).toBe(500);
    expect(response.body).toMatchObject({ delivered: 0, deadLettered: 0, failed: 1 });
    expect(response.body.message).toContain('HTTP 401');
  });

  it('sends no signature headers when ROUTER_AUTH is none', async () => {
    await seedEvents(fx.db, fx.collections.outbox, 1);
    fx.router.script = () => ({ respond: 200 });

    await request(serveHandler({ env: relayEnv(fx.router.url, fx.collections), logger: memoryLogger() }))
      .post('/')
      .expect(200);

    expect(fx.router.received[0]?.headers).not.toHaveProperty('webhook-signature');
    expect(fx.router.received[0]?.headers).not.toHaveProperty('authorization');
  });
});
