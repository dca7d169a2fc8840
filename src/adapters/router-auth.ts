import { GoogleAuth, type IdTokenClient } from 'google-auth-library';
import { Webhook } from 'standardwebhooks';
import type { RouterAuthConfig } from '../config.js';

/** Extra headers that prove the POST comes from this relay; computed per request, after the body is final. */
export interface RouterAuth {
  headersFor(eventId: string, body: string): Promise<Readonly<Record<string, string>>>;
}

/** Builds the authenticator ROUTER_AUTH asks for. */
export function createRouterAuth(config: RouterAuthConfig, routerUrl: string, now: () => number = Date.now): RouterAuth {
  switch (config.kind) {
    case 'none':
      return { headersFor: () => Promise.resolve({}) };
    case 'hmac':
      return new StandardWebhooksSigner(config.secret, now);
    case 'google-id-token':
      return new GoogleIdTokenAuth(config.audience, routerUrl);
  }
}

/**
 * Standard Webhooks signing (standardwebhooks.com): the event id is the webhook-id, stable across retries,
 * so a router can drop replays; the signature covers id, timestamp and body.
 */
export class StandardWebhooksSigner implements RouterAuth {
  private readonly webhook: Webhook;

  constructor(
    secret: string,
    private readonly now: () => number = Date.now,
  ) {
    this.webhook = new Webhook(secret);
  }

  headersFor(eventId: string, body: string): Promise<Readonly<Record<string, string>>> {
    const timestamp = new Date(this.now());
    return Promise.resolve({
      'webhook-id': eventId,
      'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'webhook-signature': this.webhook.sign(eventId, timestamp, body),
    });
  }
}

/** A Google-signed ID token with the router as audience, for routers behind Cloud Run or Cloud Functions IAM; the client caches and refreshes it. */
export class GoogleIdTokenAuth implements RouterAuth {
  private client: Promise<IdTokenClient> | undefined;

  constructor(
    private readonly audience: string,
    private readonly routerUrl: string,
    private readonly auth: GoogleAuth = new GoogleAuth(),
  ) {}

  async headersFor(): Promise<Readonly<Record<string, string>>> {
    this.client ??= this.auth.getIdTokenClient(this.audience);
    let client: IdTokenClient;
    try {
      client = await this.client;
    } catch (error) {
      this.client = undefined;
      throw error;
    }
    const headers = await client.getRequestHeaders(this.routerUrl);
    const authorization = headers.get('authorization');
    return authorization === null ? {} : { authorization };
  }
}
