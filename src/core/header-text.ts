/**
 * Characters an event id may have: RFC 3986's unreserved ones and `: @ + =`. Such an id travels unchanged in
 * `ce-id`, `idempotency-key` and `webhook-id` (no header needs escaping it) and is signed exactly as sent.
 */
const HEADER_SAFE_ID = /^[A-Za-z0-9._~:@+=-]+$/;

/** Whether an id can be sent faithfully in every delivery header; the producer API accepts no other. */
export function isHeaderSafeId(id: string): boolean {
  return HEADER_SAFE_ID.test(id);
}

/** Control characters cannot travel in an HTTP header, escaped or not, without the receiver seeing something else. */
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/** Whether text carried in a `ce-*` header (type, subject) is free of control characters. */
export function hasControlCharacters(text: string): boolean {
  return CONTROL_CHARACTERS.test(text);
}
