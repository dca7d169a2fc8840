import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';

/** The ce-type values the example router applies; anything else is answered 422 so the relay dead-letters it. */
export const ExampleEventType = {
  AccountCredited: 'com.example.account.credited',
  AccountDebited: 'com.example.account.debited',
  BillingCharged: 'com.example.billing.charged',
  BillingVoided: 'com.example.billing.voided',
} as const;
export type ExampleEventType = (typeof ExampleEventType)[keyof typeof ExampleEventType];

/** Largest amount one event may move, in cents; keeps balances far inside exact integer arithmetic. */
export const MAX_AMOUNT_CENTS = 100_000_000_000;

const accountId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/, 'must be 1 to 100 letters, digits, "_" or "-", starting with a letter or digit');
const amount = z.number().int().positive().max(MAX_AMOUNT_CENTS);
const billingId = z.string().min(1).max(500);
const movement = z.object({ accountId, amount });

const dataSchemas = {
  [ExampleEventType.AccountCredited]: movement,
  [ExampleEventType.AccountDebited]: movement,
  [ExampleEventType.BillingCharged]: z.object({
    billingId,
    accountId,
    amount,
    /** The producer's retry marker for a declined charge (see FirestoreBusinessKeys); not x-delivery-attempt. */
    attempt: z.number().int().positive().optional(),
  }),
  [ExampleEventType.BillingVoided]: z.object({ billingId }),
} as const;

/** Binary-mode CloudEvents 1.0 as the relay sends it; header names arrive lower-cased. */
const envelope = z.object({
  'ce-specversion': z.literal('1.0'),
  'ce-id': z.string().min(1),
  'ce-type': z.string().min(1),
  'ce-source': z.string().min(1),
  'x-delivery-attempt': z.coerce.number().int().positive().optional(),
});

type DataOf<K extends ExampleEventType> = z.infer<(typeof dataSchemas)[K]>;

/** A validated event: the ledger only ever sees these. */
export type ExampleEvent = {
  [K in ExampleEventType]: {
    readonly id: string;
    readonly type: K;
    readonly source: string;
    /** The relay's POST counter, for logs only; never part of any idempotency decision. */
    readonly deliveryAttempt: number | undefined;
    readonly data: DataOf<K>;
  };
}[ExampleEventType];

/** Why a request cannot be applied, ever: 400 for a broken envelope or body, 422 for an unknown type or invalid data. */
export interface RejectedRequest {
  readonly status: 400 | 422;
  readonly error: 'malformed_cloudevent' | 'malformed_data' | 'unsupported_type' | 'invalid_data';
  readonly message: string;
}

/** Checks the envelope, then the type, then the data, and names what is wrong without echoing any value of the payload. */
export function parseExampleEvent(
  headers: IncomingHttpHeaders,
  body: unknown,
): { readonly event: ExampleEvent } | { readonly rejected: RejectedRequest } {
  const head = envelope.safeParse(headers);
  if (!head.success) {
    return reject(400, 'malformed_cloudevent', `missing or invalid CloudEvents header(s): ${describeIssues(head.error)}`);
  }
  const type = head.data['ce-type'];
  if (!isExampleEventType(type)) {
    return reject(422, 'unsupported_type', `ce-type "${type.slice(0, 200)}" is not one this router applies`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body) || Buffer.isBuffer(body)) {
    return reject(400, 'malformed_data', 'the body must be a JSON object sent with content-type application/json');
  }
  const data = dataSchemas[type].safeParse(body);
  if (!data.success) return reject(422, 'invalid_data', `data of ${type} is invalid: ${describeIssues(data.error)}`);
  const event = {
    id: head.data['ce-id'],
    type,
    source: head.data['ce-source'],
    deliveryAttempt: head.data['x-delivery-attempt'],
    data: data.data,
  } as ExampleEvent;
  return { event };
}

function isExampleEventType(type: string): type is ExampleEventType {
  return Object.values<string>(ExampleEventType).includes(type);
}

function reject(
  status: RejectedRequest['status'],
  error: RejectedRequest['error'],
  message: string,
): { readonly rejected: RejectedRequest } {
  return { rejected: { status, error, message } };
}

/** Paths and rules only: zod's messages name the expected shape, never the value received. */
function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`).join('; ');
}
