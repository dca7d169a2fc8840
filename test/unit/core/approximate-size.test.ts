import { approximateSize } from '../../../src/core/approximate-size.js';
import { Instant } from '../../../src/core/instant.js';
import { toJsonText } from '../../../src/core/json-text.js';

describe('approximateSize (how pages are cut by MAX_IN_FLIGHT_BYTES)', () => {
  it.each([
    ['a long string', { blob: 'x'.repeat(100_000) }],
    ['many small fields', Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`field${i}`, i]))],
    ['nested arrays and objects', { items: Array.from({ length: 200 }, (_, i) => ({ sku: `sku-${i}`, qty: i, ok: true })) }],
    ['timestamps and bytes', { at: Instant.fromMillis(0), raw: new Uint8Array(3_000) }],
    ['accented Latin text (two UTF-8 bytes per letter)', { note: 'é'.repeat(10_000) }],
  ])('stays within a factor of two of the JSON text for %s', (_name, value) => {
    const json = Buffer.byteLength(toJsonText(value));

    expect(approximateSize(value)).toBeGreaterThanOrEqual(json / 2);
    expect(approximateSize(value)).toBeLessThanOrEqual(json * 2);
  });

  it('counts characters, so text of three UTF-8 bytes per character is under-counted (the docs say so)', () => {
    const value = { note: '漢'.repeat(10_000) };

    expect(approximateSize(value)).toBeLessThan(Buffer.byteLength(toJsonText(value)) / 2);
  });
});
