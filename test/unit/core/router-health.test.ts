import { RouterHealth } from '../../../src/core/router-health.js';

describe('Class: RouterHealth (the circuit breaker)', () => {
  it('opens once failures of BREAKER_THRESHOLD distinct events come with no success between them', () => {
    const health = new RouterHealth(3, 16);

    expect([health.observe('a', false), health.observe('b', false), health.observe('c', false)]).toEqual(['none', 'none', 'opened']);
    expect(health.open).toBe(true);
  });

  it('counts one event failing again and again once', () => {
    const health = new RouterHealth(3, 16);

    for (let i = 0; i < 10; i += 1) health.observe('a', false);

    expect(health.open).toBe(false);
    expect(health.undecided).toBe(true);
  });

  it('calls the failures before a success the events’ own (recovered) and starts counting again', () => {
    const health = new RouterHealth(3, 16);
    health.observe('a', false);
    health.observe('b', false);

    expect(health.observe('c', true)).toBe('recovered');
    expect(health.undecided).toBe(false);
    health.observe('d', false);
    health.observe('e', false);
    expect(health.open).toBe(false);
  });

  it('lets only as many POSTs in flight as could still be judged until the router has proven itself', () => {
    const health = new RouterHealth(3, 16);

    expect(health.window).toBe(3);
    health.observe('a', true);
    expect(health.window).toBe(16);
    health.observe('b', false);
    expect(health.window).toBe(2);
    health.observe('c', true);
    expect(health.window).toBe(16);
  });
});
