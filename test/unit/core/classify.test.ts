import { MAX_BODY_EXCERPT_CHARS, classify, parseRetryAfterMs } from '../../../src/core/classify.js';
import type { RouterResponse } from '../../../src/core/ports.js';

const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
const answer = (status: number, body = '', retryAfter?: string): RouterResponse => ({ kind: 'response', status, body, retryAfter });

describe('Function: classify', () => {
  it.each([200, 201, 202, 204])('treats HTTP %i as delivered', (status) => {
    expect(classify(answer(status), NOW).kind).toBe('delivered');
  });

  it.each([408, 425, 429, 500, 502, 503, 504, 599])('treats HTTP %i as transient, worth retrying within the run', (status) => {
    expect(classify(answer(status), NOW)).toMatchObject({ kind: 'transient', retryInRun: true });
  });

  it.each([301, 302, 307, 308, 401, 403])('treats HTTP %i as a fault of the relay’s setup: transient, left to a later run', (status) => {
    expect(classify(answer(status), NOW)).toMatchObject({ kind: 'transient', retryInRun: false });
  });

  it('treats a POST the relay cancelled as telling nothing about the router or the event', () => {
    expect(classify({ kind: 'aborted' }, NOW)).toMatchObject({ kind: 'cancelled' });
  });

  it('treats a POST the relay could not authenticate as a setup fault, left to a later run', () => {
    expect(classify({ kind: 'not_sent', reason: 'no credentials' }, NOW)).toEqual({
      kind: 'transient',
      reason: 'not sent: no credentials',
      retryAfterMs: undefined,
      retryInRun: false,
    });
  });

  it.each([400, 404, 405, 409, 410, 413, 415, 422])('treats HTTP %i as permanent (dead-letter)', (status) => {
    expect(classify(answer(status), NOW).kind).toBe('permanent');
  });

  it('treats a timeout as transient', () => {
    expect(classify({ kind: 'timeout', timeoutMs: 500 }, NOW)).toEqual({
      kind: 'transient',
      reason: 'timed out after 500 ms',
      retryAfterMs: undefined,
      retryInRun: true,
    });
  });

  it('treats a connection error as transient and names its code', () => {
    const verdict = classify({ kind: 'network', code: 'ECONNRESET', message: 'socket hang up' }, NOW);
    expect(verdict).toEqual({
      kind: 'transient',
      reason: 'network error ECONNRESET: socket hang up',
      retryAfterMs: undefined,
      retryInRun: true,
    });
  });

  it('keeps a short, single-line excerpt of the body in the reason', () => {
    const verdict = classify(answer(422, `{"error":\n"${'x'.repeat(5000)}"}`), NOW);
    expect(verdict.kind).toBe('permanent');
    const reason = verdict.kind === 'permanent' ? verdict.reason : '';
    expect(reason.startsWith('HTTP 422: {"error": "xxx')).toBe(true);
    expect(reason.length).toBeLessThanOrEqual('HTTP 422: '.length + MAX_BODY_EXCERPT_CHARS + 1);
    expect(reason).not.toContain('\n');
  });

  it('passes Retry-After of a 429 on as a delay', () => {
    expect(classify(answer(429, '', '7'), NOW)).toMatchObject({ kind: 'transient', retryAfterMs: 7000 });
  });
});

describe('Function: parseRetryAfterMs', () => {
  it.each([
    ['0', 0],
    ['120', 120_000],
    [new Date(NOW + 30_000).toUTCString(), 30_000],
    [new Date(NOW - 30_000).toUTCString(), 0],
  ])('reads %j as %i ms', (header, expected) => {
    expect(parseRetryAfterMs(header, NOW)).toBe(expected);
  });

  it.each([undefined, '', 'soon', '-5', '1.5'])('ignores %j', (header) => {
    expect(parseRetryAfterMs(header, NOW)).toBeUndefined();
  });
});
