import { CloudEvent, HTTP } from 'cloudevents';
import { MalformedEventError, describeError } from '../errors.js';
import type { OutboxEvent } from '../core/event.js';

/** The HTTP request for one event: CloudEvents 1.0 binary mode plus the relay's delivery headers. */
export interface EncodedRequest {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Encodes with the CloudEvents SDK so the headers follow the spec; an invalid event becomes a MalformedEventError. */
export function encodeEvent(event: OutboxEvent, deliveryAttempt: number, defaultSource: string): EncodedRequest {
  let message;
  try {
    const cloudEvent = new CloudEvent({
      specversion: '1.0',
      id: event.id,
      type: event.type,
      source: event.source ?? defaultSource,
      time: event.createdAt.toRfc3339(),
      datacontenttype: 'application/json',
      ...(event.subject === undefined ? {} : { subject: event.subject }),
    });
    message = HTTP.binary(cloudEvent);
  } catch (error) {
    throw new MalformedEventError(event.id, 'CloudEvents attributes', `are invalid: ${validationDetail(error)}`);
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    if (typeof value === 'string') headers[name.toLowerCase()] = name.toLowerCase().startsWith('ce-') ? percentEncode(value) : value;
  }
  // The SDK cuts time to milliseconds; createdAt may have microseconds.
  headers['ce-time'] = event.createdAt.toRfc3339();
  headers['content-type'] = 'application/json';
  headers['idempotency-key'] = percentEncode(event.id);
  headers['x-delivery-attempt'] = String(deliveryAttempt);
  // CloudEvents distributed-tracing extension: the trace the producer's request started goes on.
  if (event.traceparent !== undefined) headers.traceparent = event.traceparent;
  if (event.tracestate !== undefined) headers.tracestate = event.tracestate;
  // Always the JSON text made when the event was read: the SDK would send a string `data` as raw text.
  return { headers, body: event.body };
}

/**
 * CloudEvents HTTP binding §3.1.3.2: header values are percent-encoded outside printable ASCII, and for space,
 * `"` and `%`; otherwise Node would refuse or mangle a subject such as "orders/日本".
 */
export function percentEncode(value: string): string {
  let encoded = '';
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    if (code > 0x20 && code < 0x7f && char !== '"' && char !== '%') encoded += char;
    else for (const byte of Buffer.from(char, 'utf8')) encoded += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded;
}

function validationDetail(error: unknown): string {
  const errors = (error as { errors?: unknown }).errors;
  if (Array.isArray(errors)) {
    return errors
      .map((e: { instancePath?: string; message?: string }) => `${(e.instancePath ?? '').replace(/^\//, '')} ${e.message ?? ''}`.trim())
      .join('; ');
  }
  return describeError(error);
}
