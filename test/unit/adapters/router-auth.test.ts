import type { GoogleAuth } from 'google-auth-library';
import { GoogleIdTokenAuth } from '../../../src/adapters/router-auth.js';

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
