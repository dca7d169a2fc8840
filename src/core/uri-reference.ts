/** Characters of an RFC 3986 URI reference: unreserved, reserved and percent escapes; nothing else. */
const URI_REFERENCE_PATTERN = /^(?:[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})+$/;

/** CloudEvents `source` must be a URI reference; checked where it is configured, so a bad one fails at start. */
export function isUriReference(value: string): boolean {
  return URI_REFERENCE_PATTERN.test(value) && URL.canParse(value, 'https://base.invalid/');
}
