import { RouterHealth, breakerState, faultAtRunEnd, ownFailure, refusalLimit } from '../../../src/core/router-health.js';

const LIMITS = { threshold: 5, concurrency: 16 };

describe('Function: breakerState (the rule of the circuit breaker)', () => {
  it.each([
    // failed, refused, of them still retrying, success in the run → open, POSTs in flight
    [0, 0, 0, false, false, 5, 'nothing answered yet: as many probes as could be judged'],
    [0, 0, 0, true, false, 16, 'the router proved itself, nothing failing since: full concurrency'],
    [2, 0, 0, true, false, 3, 'failures since the last success: only as many as could still be judged'],
    [4, 0, 0, false, false, 1, 'one failure short of the threshold: one POST at a time'],
    [4, 0, 4, false, false, 5, 'the four still retrying keep their slots, and one more may probe'],
    [5, 0, 5, false, true, 1, 'BREAKER_THRESHOLD distinct events failed with no success between: the router is failing'],
    [5, 0, 0, true, true, 1, 'a success earlier in the run does not excuse a streak that long'],
    [0, 5, 5, false, false, 10, 'five refused with Retry-After, waiting in the run: five more probes besides'],
    [0, 6, 0, false, false, 5, 'six events refused with Retry-After: the router is up, speaking for those events'],
    [0, 12, 12, false, false, 16, 'refusals keep the probes going, never past DELIVERY_CONCURRENCY'],
    [0, 16, 0, false, false, 1, 'as many refusals as one run can have in flight: one probe more'],
    [0, 17, 17, false, true, 1, 'more distinct events refused than one run can have had in flight: the router is refusing all'],
    [4, 12, 0, false, false, 1, 'failures and refusals: each limit counts its own'],
    [3, 14, 0, false, true, 1, 'failures and refusals together past the refusal limit'],
  ])(
    'failed %i, refused %i (%i retrying), a success %s → open %s, %i in flight (%s)',
    (failed, refused, inFlight, succeeded, open, window) => {
      expect(breakerState({ failed, refused, inFlight }, succeeded, LIMITS)).toEqual({ open, window });
    },
  );

  it('never lets fewer distinct refusals open the circuit than failures would', () => {
    expect(refusalLimit({ threshold: 50, concurrency: 16 })).toBe(50);
    expect(refusalLimit({ threshold: 3, concurrency: 4 })).toBe(5);
  });
});

describe('Function: faultAtRunEnd', () => {
  it.each([
    [true, 'event', 'the router delivered others in the run: the failures left were the events’ own'],
    [false, 'router', 'no success in the run: nothing tells the events from the router, so none is charged'],
  ])('with a success in the run %s → %s (%s)', (succeeded, fault) => {
    expect(faultAtRunEnd(succeeded)).toBe(fault);
  });
});

describe('Function: ownFailure', () => {
  it.each([
    [true, true, true, 'POSTed in an earlier run, failing while the router delivers others: the event’s own (a poison payload)'],
    [true, false, false, 'no success in the run yet: a failing router looks the same, so it joins the streak'],
    [false, true, false, 'never POSTed before: a router that just started failing looks the same'],
    [false, false, false, 'nothing known: it joins the streak'],
  ])('posted before %s, success in the run %s → %s (%s)', (postedBefore, succeeded, own) => {
    expect(ownFailure(postedBefore, succeeded)).toBe(own);
  });
});

describe('Class: RouterHealth (the circuit breaker)', () => {
  it('leaves the streak alone for failures of events POSTed in earlier runs once the router delivered others', () => {
    const health = new RouterHealth({ threshold: 3, concurrency: 16 });
    health.observe('fresh', 'delivered');

    const changes = ['p1', 'p2', 'p3', 'p4'].map((id) => health.observe(id, 'failed', true));

    expect(changes).toEqual(['none', 'none', 'none', 'none']);
    expect(health.open).toBe(false);
    expect(health.undecided).toBe(false);
    // An event never POSTed before still counts: a router that starts failing mid-run opens the circuit.
    expect(['n1', 'n2', 'n3'].map((id) => health.observe(id, 'failed'))).toEqual(['none', 'none', 'opened']);
  });

  it('opens once failures of BREAKER_THRESHOLD distinct events come with no success between them', () => {
    const health = new RouterHealth({ threshold: 3, concurrency: 16 });

    expect([health.observe('a', 'failed'), health.observe('b', 'failed'), health.observe('c', 'failed')]).toEqual([
      'none',
      'none',
      'opened',
    ]);
    expect(health.open).toBe(true);
  });

  it('counts one event failing again and again once', () => {
    const health = new RouterHealth({ threshold: 3, concurrency: 16 });

    for (let i = 0; i < 10; i += 1) health.observe('a', 'failed');

    expect(health.open).toBe(false);
    expect(health.undecided).toBe(true);
  });

  it('counts an event by its latest answer: refused, then failed, is a failure', () => {
    const health = new RouterHealth({ threshold: 3, concurrency: 16 });

    health.observe('a', 'refused');
    health.observe('a', 'failed');

    expect(health.counts).toEqual({ failed: 1, refused: 0, inFlight: 1 });
  });

  it('calls the failures before a success the events’ own (recovered) and starts counting again', () => {
    const health = new RouterHealth({ threshold: 3, concurrency: 16 });
    health.observe('a', 'failed');
    health.observe('b', 'refused');

    expect(health.observe('c', 'delivered')).toBe('recovered');
    expect(health.undecided).toBe(false);
    expect(health.succeeded).toBe(true);
    health.observe('d', 'failed');
    health.observe('e', 'failed');
    expect(health.open).toBe(false);
  });

  it('keeps probing past BREAKER_THRESHOLD refusals, and opens once more events refuse than one run had in flight', () => {
    const health = new RouterHealth({ threshold: 3, concurrency: 4 });

    const changes = ['a', 'b', 'c', 'd', 'e'].map((id) => health.observe(id, 'refused'));

    expect(changes).toEqual(['none', 'none', 'none', 'none', 'opened']);
  });

  it('lets only as many POSTs in flight as could still be judged until the router has proven itself', () => {
    const health = new RouterHealth({ threshold: 3, concurrency: 16 });

    expect(health.window).toBe(3);
    health.observe('a', 'delivered');
    expect(health.window).toBe(16);
    health.observe('b', 'failed');
    expect(health.window).toBe(3);
    health.concluded('b');
    expect(health.window).toBe(2);
    health.observe('c', 'delivered');
    expect(health.window).toBe(16);
  });
});
