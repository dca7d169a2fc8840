import type { GoogleAuth } from 'google-auth-library';
import { GoogleIdTokenAuth } from '../../../src/adapters/router-auth.js';
import { parseConfig } from '../../../src/config.js';

describe('Class: GoogleIdTokenAuth', () => {
  it('asks google-auth-library for an ID token with the router as audience and sends it as a bearer token', async () => {
    const audiences: string[] = [];
    const fakeAuth = {
      getIdTokenClient: (audience: string) => {
        audiences.push(audience);
        return Promise.resolve({ getRequestHeaders: () => Promise.resolve(new Headers({ authorization: 'Bearer id-token-for-router' })) });
      },
    } as unknown as GoogleAuth;
    const auth = new GoogleIdTokenAuth('https://router-abc.a.run.app', 'https://router-abc.a.run.app/events', fakeAuth);

    const first = await auth.headersFor();
    await auth.headersFor();

    expect(first).toEqual({ authorization: 'Bearer id-token-for-router' });
    expect(audiences).toEqual(['https://router-abc.a.run.app']);
  });
});

describe('ID tokens for a router URL with a path', () => {
  it('requests the token for the router’s origin, the audience Cloud Run accepts, and sends it to the full URL', async () => {
    const audiences: string[] = [];
    const sentTo: string[] = [];
    const fakeAuth = {
      getIdTokenClient: (audience: string) => {
        audiences.push(audience);
        return Promise.resolve({
          getRequestHeaders: (url: string) => {
            sentTo.push(url);
            return Promise.resolve(new Headers({ authorization: 'Bearer id-token' }));
          },
        });
      },
    } as unknown as GoogleAuth;
    const config = parseConfig({ ROUTER_URL: 'https://router-xyz.a.run.app/events', ROUTER_AUTH: 'google-id-token' });
    if (config.routerAuth.kind !== 'google-id-token') throw new Error('expected google-id-token');
    const auth = new GoogleIdTokenAuth(config.routerAuth.audience, config.routerUrl, fakeAuth);

    await auth.headersFor();

    expect(audiences).toEqual(['https://router-xyz.a.run.app']);
    expect(sentTo).toEqual(['https://router-xyz.a.run.app/events']);
  });
});
