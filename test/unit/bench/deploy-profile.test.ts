import { deployCpu, readDeployProfile } from '../../../bench/deploy-profile.js';

const root = process.cwd();

describe('the deploy profile the bench names', () => {
  it('reads the default deploy vCPU (0.167) from cloudbuild.yaml, whose --cpu is a shell variable', async () => {
    const profile = await readDeployProfile(root);
    expect(profile.cpu).toBe(0.167);
    expect(profile.memory).toBe('256Mi');
  });

  it.each([
    ['a literal', '        --cpu=1 \\\n', 1],
    ['a quoted literal', '        --cpu="0.333" \\\n', 0.333],
    [
      'a variable read from the file the config step writes',
      "      writeFileSync('.deploy/cpu', push ? '1' : '0.5');\n      cpu=\"$(cat .deploy/cpu)\"\n        --cpu=\"$cpu\" \\\n",
      0.5,
    ],
  ])('reads --cpu given as %s', (_what, text, cpu) => {
    expect(deployCpu(text)).toBe(cpu);
  });

  it('fails, naming the flag, rather than answering no vCPU when the variable cannot be followed', () => {
    expect(() => deployCpu('        --cpu="$cpu" \\\n')).toThrow(/--cpu=\$cpu/);
  });
});
