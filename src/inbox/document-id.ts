import { createHash } from 'node:crypto';

/** Longest readable `${namespace}:${id}` kept as is; Firestore allows 1500 bytes, but short ids keep index entries small. */
export const MAX_READABLE_DOCUMENT_ID_BYTES = 200;

/**
 * One document per (namespace, id) whatever the id looks like: readable when Firestore accepts it, else the
 * SHA-256 hex of the pair, so a 600-character id or one with `/` still maps to exactly one document.
 * Namespaces never contain `:` (see assertNamespace), so the pair is unambiguous, and a readable id always
 * contains `:`, so it never collides with a 64-hex-character hashed one.
 */
export function recordDocumentId(namespace: string, id: string): string {
  const readable = `${namespace}:${id}`;
  return isReadableDocumentId(readable) ? readable : createHash('sha256').update(readable, 'utf8').digest('hex');
}

/** Firestore's rules for document ids (UTF-8, no `/`, not `.` or `..`, not `__…__`), plus the length kept readable. */
function isReadableDocumentId(id: string): boolean {
  return (
    Buffer.byteLength(id, 'utf8') <= MAX_READABLE_DOCUMENT_ID_BYTES &&
    !id.includes('/') &&
    // A lone surrogate is not valid UTF-8; hashing it keeps the id storable.
    !/\p{Cs}/u.test(id) &&
    id !== '.' &&
    id !== '..' &&
    !/^__.*__$/s.test(id)
  );
}
