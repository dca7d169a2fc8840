import { Webhook } from 'standardwebhooks';
import request from 'supertest';
import { memoryLogger, relayEnv, serveHandler } from '../../support/function-server.js';
import type { RouterScript } from '../../support/loopback-router.js';
import { idsWithStatus, seedEvents } from '../../support/outbox-fixtures.js';
import { useRelayFixture } from '../../support/relay-fixture.js';

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

  it('signs every POST so the router can verify it with the shared secret', async () => {
    const ids = await seedEvents(fx.db, fx.collections.outbox, 3);

    const response = await request(serveHandler({ env: relayEnv(fx.router.url, fx.collections, { ROUTER_AUTH: 'hmac', ROUTER_HMAC_SECRET: SECRET }), logger: memoryLogger() })).post('/');

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

    await request(serveHandler({ env: relayEnv(fx.router.url, fx.collections), logger: memoryLogger() })).post('/').expect(200);

    expect(fx.router.received[0]?.headers).not.toHaveProperty('webhook-signature');
    expect(fx.router.received[0]?.headers).not.toHaveProperty('authorization');
  });
});
