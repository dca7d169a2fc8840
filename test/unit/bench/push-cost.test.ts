import { monthlyCost, PRICES, SECONDS_PER_MONTH } from '../../../bench/push-cost.js';

const POLLING_SHAPE = { vcpu: 0.167, memoryGib: 0.25 };
const PUSH_SHAPE = { vcpu: 1, memoryGib: 0.25 };

describe('bench/push-cost.ts: a measurement scaled to a month and priced', () => {
  it.each([
    {
      what: 'polling: one run a minute, busy a second each, no Firestore call',
      use: { seconds: 600, requests: 10, busySeconds: 10, firestoreReads: 0, firestoreWrites: 0 },
      shape: POLLING_SHAPE,
      requestsPerMonth: 43_200,
      instanceSecondsPerMonth: 43_200,
    },
    {
      what: 'push: a kick a second, busy half the time',
      use: { seconds: 100, requests: 100, busySeconds: 50, firestoreReads: 0, firestoreWrites: 0 },
      shape: PUSH_SHAPE,
      requestsPerMonth: SECONDS_PER_MONTH,
      instanceSecondsPerMonth: SECONDS_PER_MONTH / 2,
    },
  ])('$what', ({ use, shape, requestsPerMonth, instanceSecondsPerMonth }) => {
    const cost = monthlyCost(use, shape);

    expect(cost.requestsPerMonth).toBeCloseTo(requestsPerMonth, 6);
    expect(cost.instanceSecondsPerMonth).toBeCloseTo(instanceSecondsPerMonth, 6);
    expect(cost.requestUsd).toBeCloseTo((requestsPerMonth / 1e6) * PRICES.perMillionRequests, 9);
    expect(cost.instanceUsd).toBeCloseTo(
      instanceSecondsPerMonth * (shape.vcpu * PRICES.perVcpuSecond + shape.memoryGib * PRICES.perGibSecond),
      9,
    );
    expect(cost.totalUsd).toBeCloseTo(cost.requestUsd + cost.instanceUsd + cost.firestoreUsd, 9);
  });

  it('prices Firestore reads and writes per 100,000', () => {
    const cost = monthlyCost(
      { seconds: SECONDS_PER_MONTH, requests: 0, busySeconds: 0, firestoreReads: 200_000, firestoreWrites: 100_000 },
      PUSH_SHAPE,
    );

    expect(cost.firestoreUsd).toBeCloseTo(2 * PRICES.perHundredThousandReads + PRICES.perHundredThousandWrites, 9);
  });

  it('refuses a measurement of no time rather than dividing by zero', () => {
    expect(() => monthlyCost({ seconds: 0, requests: 1, busySeconds: 0, firestoreReads: 0, firestoreWrites: 0 }, PUSH_SHAPE)).toThrow(
      RangeError,
    );
  });
});
