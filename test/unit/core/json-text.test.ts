import { Instant } from '../../../src/core/instant.js';
import { JsonFormError, toJsonText } from '../../../src/core/json-text.js';

describe('Function: toJsonText', () => {
  it.each([
    ['a string', 'hello', '"hello"'],
    ['a string that looks like JSON', '{"x":1}', '"{\\"x\\":1}"'],
    ['a number', 42, '42'],
    ['a boolean', false, 'false'],
    ['null', null, 'null'],
    ['an array', [1, 'two'], '[1,"two"]'],
    ['an object', { a: { b: [true] } }, '{"a":{"b":[true]}}'],
  ])('writes %s as its JSON, so the body parses back to the same value', (_name, data, text) => {
    expect(toJsonText(data)).toBe(text);
    expect(JSON.parse(toJsonText(data))).toEqual(data);
  });

  it('keeps every digit of an integer beyond 2^53', () => {
    expect(toJsonText({ id: 123456789012345678901n, small: 7n })).toBe('{"id":123456789012345678901,"small":7}');
  });

  it('writes a timestamp as RFC 3339 with its nanoseconds and bytes as base64', () => {
    expect(toJsonText({ at: Instant.of(1_767_225_600, 123_456_789), raw: new Uint8Array([1, 2, 255]) })).toBe(
      '{"at":"2026-01-01T00:00:00.123456789Z","raw":"AQL/"}',
    );
  });

  it.each([
    [{ price: Number.NaN }, 'data.price'],
    [{ items: [1, { n: Number.POSITIVE_INFINITY }] }, 'data.items[1].n'],
    [Number.NEGATIVE_INFINITY, 'data'],
  ])('refuses %j, naming %s, instead of sending null', (data, path) => {
    expect(() => toJsonText(data)).toThrow(JsonFormError);
    expect(() => toJsonText(data)).toThrow(new RegExp(`^${path.replace(/[.[\]]/g, '\\$&')} is`));
  });
});
