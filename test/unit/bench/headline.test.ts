import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mergedHeadline, type Headline } from '../../../bench/headline.js';
import { cpuBoundEventsPerSecond } from '../../../bench/sizing.js';

const own: Headline = { functionCpuMsPerEvent: { value: 0.42, target: '<= 0.5 ms', met: true } };

describe('Function: mergedHeadline', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'headline-'));
    mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('keeps this run’s entries when the other scenarios’ files do not exist', async () => {
    expect(await mergedHeadline(own, root)).toEqual(own);
  });

  it('adds the headline entries of follow.json and telemetry.json, each naming its file', async () => {
    const follow = { headline: { followLatencyP95Ms: { value: 120, target: '<= 1000 ms', met: true } } };
    const telemetry = { headline: { telemetryCpuShare: { value: 0.08, target: '<= 0.05', met: false } }, other: 1 };
    writeFileSync(path.join(root, 'bench/results/follow.json'), JSON.stringify(follow));
    writeFileSync(path.join(root, 'bench/results/telemetry.json'), JSON.stringify(telemetry));

    expect(await mergedHeadline(own, root)).toEqual({
      ...own,
      followLatencyP95Ms: { value: 120, target: '<= 1000 ms', met: true, source: 'bench/results/follow.json' },
      telemetryCpuShare: { value: 0.08, target: '<= 0.05', met: false, source: 'bench/results/telemetry.json' },
    });
  });

  it('prefixes an entry named like one already present with its file’s name instead of overwriting it', async () => {
    writeFileSync(
      path.join(root, 'bench/results/telemetry.json'),
      JSON.stringify({ headline: { functionCpuMsPerEvent: { value: 0.6, target: '<= 0.55', met: false } } }),
    );

    const merged = await mergedHeadline(own, root);

    expect(merged.functionCpuMsPerEvent).toEqual(own.functionCpuMsPerEvent);
    expect(merged['telemetry.functionCpuMsPerEvent']).toMatchObject({ value: 0.6, source: 'bench/results/telemetry.json' });
  });

  it('ignores a file that is not JSON or has no headline object', async () => {
    writeFileSync(path.join(root, 'bench/results/follow.json'), 'not json');
    writeFileSync(path.join(root, 'bench/results/telemetry.json'), JSON.stringify({ headline: 3 }));

    expect(await mergedHeadline(own, root)).toEqual(own);
  });
});

describe('Function: cpuBoundEventsPerSecond', () => {
  it('gives the vCPU share over the CPU per event, counting at most one vCPU (one event loop)', () => {
    expect(cpuBoundEventsPerSecond(0.167, 0.5)).toBeCloseTo(334);
    expect(cpuBoundEventsPerSecond(1, 0.5)).toBeCloseTo(2000);
    expect(cpuBoundEventsPerSecond(2, 0.5)).toBeCloseTo(2000);
  });
});
