import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import {
  DEFAULT_FIRESTORE_TIMEOUT_MS,
  DEFAULT_POST_TIMEOUT_MS,
  DEFAULT_FOLLOW_MS,
  DEFAULT_RUN_BUDGET_MS,
  FOLLOW_MARGIN_MS,
  longestRunMs,
  parseConfig,
} from '../../../src/config.js';
import { SETTINGS } from '../../../src/settings/settings.js';
import { PROJECT_ROOT } from '../../support/project-root.js';

/*
 * cloudbuild.yaml and scheduler.yaml checked against each other and against the code. The build's deploy and
 * Scheduler steps are not read as text: their scripts run here, as Cloud Build runs them, with a stand-in
 * `gcloud` on PATH that records its arguments, so what is checked is what gcloud would be called with.
 */

const PROJECT_ID = 'demo-project';
const FUNCTION_URL = 'https://outboundeventhandler-7x2kq3-uc.a.run.app';
const ROUTER_URL = 'https://router.example.com/events';
/** The heap the benchmark's figures were measured with; bench/deploy-profile.ts reads it from the same line. */
const DEPLOY_NODE_OPTIONS = '--max-old-space-size=256';
/** Scheduler's limits for an HTTP target's attemptDeadline. */
const MIN_ATTEMPT_DEADLINE_S = 15;
const MAX_ATTEMPT_DEADLINE_S = 30 * 60;

const Step = z.object({
  id: z.string(),
  name: z.string(),
  script: z.string(),
  env: z.array(z.string()).default([]),
  waitFor: z.array(z.string()).optional(),
});
const CloudBuild = z.object({
  substitutions: z.record(z.string(), z.string()),
  options: z.object({ automapSubstitutions: z.literal(true), env: z.array(z.string()).default([]) }),
  steps: z.array(Step),
});
type CloudBuild = z.infer<typeof CloudBuild>;

const Duration = z.string().regex(/^\d+s$/, 'a duration in whole seconds, like "30s"');
/** The Cloud Scheduler REST Job, restricted to the fields the build applies. */
const SchedulerJob = z.strictObject({
  name: z.string(),
  description: z.string(),
  schedule: z.string(),
  timeZone: z.string().min(1),
  httpTarget: z.strictObject({
    uri: z.string(),
    httpMethod: z.enum(['POST', 'GET', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']),
    headers: z.record(z.string(), z.string()).optional(),
    body: z.string().optional(),
    oidcToken: z.strictObject({ serviceAccountEmail: z.string(), audience: z.string() }),
  }),
  retryConfig: z.strictObject({
    retryCount: z.number().int(),
    minBackoffDuration: Duration,
    maxBackoffDuration: Duration,
    maxDoublings: z.number().int(),
    maxRetryDuration: Duration,
  }),
  attemptDeadline: Duration,
});
type SchedulerJob = z.infer<typeof SchedulerJob>;

const cloudBuild: CloudBuild = CloudBuild.parse(parse(readProjectFile('cloudbuild.yaml')));
const schedulerYaml = readProjectFile('scheduler.yaml');
const functionYaml = readProjectFile('deploy/function.yaml');
const FunctionFile = z.strictObject({
  env: z.record(z.string(), z.string()),
  secrets: z.record(z.string(), z.string()).nullish(),
});
const checkedInEnv = FunctionFile.parse(parse(functionYaml)).env;

/** An HMAC key of the accepted shape, for a file that wrongly puts it under env. */
const HMAC_KEY = `whsec_${Buffer.alloc(24, 5).toString('base64')}`;

/** A deploy/function.yaml with the checked-in settings, these over them. */
function functionFile(env: Record<string, string>, secrets: Record<string, string> = {}): string {
  return stringify({ env: { ...checkedInEnv, ROUTER_URL, ...env }, secrets });
}

describe('Deployment: cloudbuild.yaml', () => {
  let build: BuildRun;
  let deploy: GcloudCall;
  let envVars: Map<string, string>;

  beforeAll(() => {
    build = runBuild(['function-config', 'deploy', 'scheduler-render', 'scheduler-apply']);
    deploy = build.call('functions', 'deploy');
    envVars = deploy.envFile();
  });
  afterAll(() => build.remove());

  describe('before it deploys', () => {
    it('installs, lints, tests and builds, one step after another, and deploys only once all passed', () => {
      expect(cloudBuild.steps.map((step) => step.id)).toEqual([
        'check-substitutions',
        'npm-ci',
        'lint',
        'test',
        'build',
        'function-config',
        'deploy',
        'push-trigger',
        'scheduler-render',
        'scheduler-apply',
      ]);
      expect(cloudBuild.steps.filter((step) => step.waitFor !== undefined)).toEqual([]);
      expect(stepNamed('npm-ci').script).toMatch(/^npm ci\b/);
      expect(stepNamed('lint').script).toBe('npm run lint');
      expect(stepNamed('build').script).toBe('npm run build');
    });

    it('runs the tests on Node.js 22 or newer, with Java and the Firestore emulator that npm test starts', () => {
      const test = stepNamed('test');

      expect(nodeMajorOfImage(test.name)).toBeGreaterThanOrEqual(22);
      expect(test.script).toMatch(/apt-get install[^\n]*openjdk-\d+-jre-headless/);
      expect(test.script).toMatch(/apt-get install[^\n]*google-cloud-cli-firestore-emulator/);
      expect(test.script.trim().split('\n').at(-1)).toBe('npm test');
    });

    it.each([
      ['a _SHARD_INDEX that is not an integer', { _SHARD_INDEX: 'two' }, '_SHARD_INDEX'],
      ['an empty _REGION', { _REGION: '' }, '_REGION'],
    ])('stops at its first step on %s', (_case, substitutions, named) => {
      const run = runBuild(['check-substitutions'], { substitutions });
      run.remove();

      expect(run.failed).toEqual({ step: 'check-substitutions', stderr: expect.stringContaining(named) as string });
    });

    it('passes its first step with the default substitutions', () => {
      const run = runBuild(['check-substitutions']);
      run.remove();

      expect(run.failed).toBeUndefined();
    });

    it.each([
      ['a ROUTER_URL that is not http(s)', functionFile({ ROUTER_URL: 'ftp://router.example.com' }), 'ROUTER_URL'],
      ['a ROUTER_AUTH the relay does not know', functionFile({ ROUTER_AUTH: 'basic' }), 'ROUTER_AUTH'],
      ['hmac without the key mounted', functionFile({ ROUTER_AUTH: 'hmac' }), 'ROUTER_HMAC_SECRET'],
      ['a FOLLOW_MS longer than the run budget allows', functionFile({ FOLLOW_MS: '236000' }), 'FOLLOW_MS'],
      ['a number that is not text', stringify({ env: { ROUTER_URL, MAX_ATTEMPTS: 5 } }), 'MAX_ATTEMPTS'],
      ['SHARD_INDEX, which each build passes', functionFile({ SHARD_INDEX: '1' }), 'SHARD_INDEX'],
      [
        'a secret that names no version',
        functionFile({ ROUTER_AUTH: 'hmac' }, { ROUTER_HMAC_SECRET: 'outbound-router-hmac' }),
        'ROUTER_HMAC_SECRET',
      ],
      ['a key other than env and secrets', `${functionFile({})}region: europe-west1\n`, 'region'],
      ['a misspelt variable, which the relay would ignore', functionFile({ MAX_ATEMPTS: '5' }), 'MAX_ATEMPTS'],
      ['a variable that was removed', functionFile({ LEASE_TTL_MS: '6000' }), 'LEASE_TTL_MS is no longer read'],
      ['the HMAC key as plain text under env', functionFile({ ROUTER_AUTH: 'hmac', ROUTER_HMAC_SECRET: HMAC_KEY }), 'ROUTER_HMAC_SECRET'],
      ['the emulator, for local runs only', functionFile({ FIRESTORE_EMULATOR_HOST: '127.0.0.1:8080' }), 'FIRESTORE_EMULATOR_HOST'],
    ])('stops before deploying when deploy/function.yaml has %s, naming it', (_case, file, named) => {
      const run = runBuild(['function-config', 'deploy'], { functionYaml: file });
      run.remove();

      expect(run.failed).toEqual({ step: 'function-config', stderr: expect.stringContaining(named) as string });
      expect(run.calls).toEqual([]);
    });

    it('stops before deploying more shards per run than MAX_IN_FLIGHT_BYTES has room for, naming SHARDS_PER_RUN', () => {
      const run = runBuild(['function-config', 'deploy'], {
        functionYaml: functionFile({ SHARD_COUNT: '8', SHARDS_PER_RUN: '8', MAX_IN_FLIGHT_BYTES: '2097152' }),
      });
      run.remove();

      expect(run.failed).toEqual({ step: 'function-config', stderr: expect.stringContaining('SHARDS_PER_RUN') as string });
    });

    it('stops before deploying a _SHARD_INDEX outside 0 to SHARD_COUNT - 1', () => {
      const run = runBuild(['function-config', 'deploy'], {
        functionYaml: functionFile({ SHARD_COUNT: '4' }),
        substitutions: { _SHARD_INDEX: '4' },
      });
      run.remove();

      expect(run.failed).toEqual({ step: 'function-config', stderr: expect.stringContaining('SHARD_INDEX') as string });
    });
  });

  describe('the function', () => {
    it('is the outboundEventHandler that src/index.ts registers, deployed as a 2nd gen HTTP function', () => {
      const registered = /\bhttp\('([^']+)'/.exec(readProjectFile('src/index.ts'))?.[1];

      expect(deploy.positionals).toEqual(['functions', 'deploy', 'outboundEventHandler']);
      expect(deploy.flag('--entry-point')).toBe(registered);
      expect(deploy.flag('--gen2')).toBe(true);
      expect(deploy.flag('--trigger-http')).toBe(true);
      expect(deploy.flag('--source')).toBe('.');
    });

    it('runs on Node.js 22 or newer', () => {
      expect(deploy.text('--runtime')).toMatch(/^nodejs\d+$/);
      expect(Number(deploy.text('--runtime').slice('nodejs'.length))).toBeGreaterThanOrEqual(22);
    });

    it('is private: no unauthenticated invocations', () => {
      expect(deploy.flag('--no-allow-unauthenticated')).toBe(true);
      expect(deploy.flag('--allow-unauthenticated')).toBeUndefined();
    });

    it('runs as a dedicated service account of its own, not a default one', () => {
      const relay = deploy.text('--service-account');

      expect(relay).toMatch(new RegExp(`^[a-z][a-z0-9-]{4,28}[a-z0-9]@${PROJECT_ID}\\.iam\\.gserviceaccount\\.com$`));
      expect(relay).not.toBe(schedulerServiceAccount(build));
    });

    it('has a timeout longer than the longest run: lease, budget, a last POST, flush, audit and release, each bounded', () => {
      const longest = longestRunMs({
        runBudgetMs: msFromEnv(envVars, 'RUN_BUDGET_MS', DEFAULT_RUN_BUDGET_MS),
        postTimeoutMs: msFromEnv(envVars, 'POST_TIMEOUT_MS', DEFAULT_POST_TIMEOUT_MS),
        firestoreTimeoutMs: msFromEnv(envVars, 'FIRESTORE_TIMEOUT_MS', DEFAULT_FIRESTORE_TIMEOUT_MS),
      });

      expect(functionTimeoutMs(deploy)).toBeGreaterThan(longest);
    });

    it('has a run lease short enough that a crashed run’s shard is drained again by the next minute’s run', () => {
      expect(parseConfig(Object.fromEntries(envVars)).leaseTtlMs).toBeLessThan(60_000);
    });

    it('runs at most one instance per shard, one run per instance, and no instance when idle', () => {
      expect(deploy.flag('--max-instances')).toBe('1');
      expect(deploy.flag('--concurrency')).toBe('1');
      expect(deploy.flag('--min-instances')).toBe('0');
      expect(deploy.flag('--memory')).toBe('256Mi');
    });

    it('names the memory, CPU and Node heap the benchmark measured the function with (docs/performance.md)', () => {
      expect(deploy.flag('--memory')).toBe('256Mi');
      expect(deploy.flag('--cpu')).toBe('0.167');
      expect(envVars.get('NODE_OPTIONS')).toBe(DEPLOY_NODE_OPTIONS);
    });

    describe('following new events (_FOLLOW_MS)', () => {
      let following: BuildRun;
      let call: GcloudCall;
      let env: Map<string, string>;

      beforeAll(() => {
        following = runBuild(['function-config', 'deploy'], { functionYaml: functionFile({ FOLLOW_MS: '75000' }) });
        call = following.call('functions', 'deploy');
        env = call.envFile();
      });
      afterAll(() => following.remove());

      it('does not follow unless asked: FOLLOW_MS is 0 in deploy/function.yaml, as in src/config.ts', () => {
        expect(checkedInEnv.FOLLOW_MS ?? String(DEFAULT_FOLLOW_MS)).toBe(String(DEFAULT_FOLLOW_MS));
        expect(envVars.get('FOLLOW_MS') ?? '0').toBe('0');
      });

      it('passes FOLLOW_MS to the function, which accepts it with the deployed settings', () => {
        expect(env.get('FOLLOW_MS')).toBe('75000');
        expect(parseConfig(Object.fromEntries(env)).followMs).toBe(75_000);
      });

      it('allows a second instance, so a run triggered while another follows can ask it to hand over', () => {
        expect(call.flag('--max-instances')).toBe('2');
        expect(call.flag('--concurrency')).toBe('1');
      });

      it('keeps the timeout and Scheduler’s attempt deadline above the longest run: following stays within RUN_BUDGET_MS', () => {
        const config = parseConfig(Object.fromEntries(env));
        const deadlineS = seconds(SchedulerJob.parse(parse(schedulerYaml)).attemptDeadline);

        expect(config.followMs).toBeLessThanOrEqual(config.runBudgetMs - FOLLOW_MARGIN_MS);
        expect(functionTimeoutMs(call)).toBeGreaterThan(longestRunMs(config));
        expect(deadlineS * 1000).toBeGreaterThanOrEqual(functionTimeoutMs(call));
      });

      it('keeps the lease shorter than a minute, so the hand-over wait (one lease TTL at most) fits in a run', () => {
        expect(parseConfig(Object.fromEntries(env)).leaseTtlMs).toBeLessThan(60_000);
      });
    });

    it('gets the environment of deploy/function.yaml, whole, pinned to no shard unless the build names one', () => {
      expect(Object.fromEntries(envVars)).toEqual({ ...checkedInEnv, ROUTER_URL });
    });

    it('mounts ROUTER_HMAC_SECRET from Secret Manager when deploy/function.yaml says so, and never as a plain variable', () => {
      const hmac = functionFile({ ROUTER_AUTH: 'hmac' }, { ROUTER_HMAC_SECRET: 'outbound-router-hmac:3' });
      const run = runBuild(['function-config', 'deploy'], { functionYaml: hmac });
      run.remove();
      const call = run.call('functions', 'deploy');

      expect(call.flag('--set-secrets')).toBe('ROUTER_HMAC_SECRET=outbound-router-hmac:3');
      expect(call.envFile().has('ROUTER_HMAC_SECRET')).toBe(false);
    });

    it('mounts no secret when deploy/function.yaml lists none, removing one an earlier configuration left', () => {
      expect(deploy.flag('--set-secrets')).toBeUndefined();
      expect(deploy.flag('--clear-secrets')).toBe(true);
    });

    it('calls gcloud functions deploy only with flags gcloud takes, none of them exclusive of another', () => {
      const runs = [build, runBuild(['function-config', 'deploy'], { functionYaml: functionFile({ ROUTER_AUTH: 'hmac' }, HMAC_MOUNT) })];
      const calls = runs.map((run) => run.call('functions', 'deploy'));
      runs[1]?.remove();

      for (const call of calls) {
        expect([...call.flags.keys()].filter((flag) => !FUNCTIONS_DEPLOY_FLAGS.has(flag))).toEqual([]);
        for (const group of FUNCTIONS_DEPLOY_EXCLUSIVE)
          expect(group.filter((flag) => call.flag(flag) !== undefined).length).toBeLessThan(2);
      }
    });
  });

  describe('the function’s settings (deploy/function.yaml)', () => {
    it('keeps the function’s environment and secrets when the next build passes only the required substitutions', () => {
      const state = path.join(mkdtempSync(path.join(os.tmpdir(), 'oeh-functions-')), 'state.json');
      const signed = functionFile({ ROUTER_AUTH: 'hmac', MAX_ATTEMPTS: '5' }, HMAC_MOUNT);
      const everySubstitution = {
        _REGION: 'us-central1',
        _FUNCTION_NAME: 'outboundEventHandler',
        _RELAY_SA: 'outbound-relay',
        _SCHEDULER_SA: 'outbound-relay-scheduler',
        _SHARD_INDEX: '',
      };

      const first = runBuild(['function-config', 'deploy'], { functionYaml: signed, substitutions: everySubstitution, state });
      const afterFirst = deployedFunctions(state);
      const second = runBuild(['function-config', 'deploy'], { functionYaml: signed, substitutions: {}, state });
      const afterSecond = deployedFunctions(state);
      [first, second].forEach((run) => run.remove());
      rmSync(path.dirname(state), { recursive: true, force: true });

      expect(second.failed).toBeUndefined();
      expect(afterFirst).toEqual({
        outboundEventHandler: {
          env: { ...checkedInEnv, ROUTER_URL, ROUTER_AUTH: 'hmac', MAX_ATTEMPTS: '5' },
          secrets: { ROUTER_HMAC_SECRET: 'outbound-router-hmac:latest' },
        },
      });
      expect(afterSecond).toEqual(afterFirst);
    });

    it('sets every variable the settings declare for deploy/function.yaml: under env, the secret from its mount, the shard from _SHARD_INDEX', () => {
      const declared = Object.values(SETTINGS);
      const env = Object.fromEntries(
        declared
          .filter((setting) => setting.deployedBy === 'env')
          .map((setting) => [setting.variable, sampleValue(setting.variable, setting.fallback)]),
      );
      const run = runBuild(['function-config', 'deploy'], {
        functionYaml: functionFile({ ...env, ROUTER_AUTH: 'hmac', MAX_ATTEMPTS: '7' }, HMAC_MOUNT),
        substitutions: { _SHARD_INDEX: '0' },
      });
      run.remove();
      const call = run.call('functions', 'deploy');
      const mounted = keyValueList(call.text('--set-secrets'));
      const reaching = (deployedBy: string): string[] =>
        declared.filter((setting) => setting.deployedBy === deployedBy).map((setting) => setting.variable);

      expect(run.failed).toBeUndefined();
      expect(Object.keys(env).length).toBeGreaterThan(25);
      expect(reaching('env').filter((name) => !call.envFile().has(name))).toEqual([]);
      expect(reaching('secret').filter((name) => !mounted.has(name))).toEqual([]);
      expect(reaching('build').filter((name) => !call.envFile().has(name))).toEqual([]);
      expect(call.envFile().get('MAX_ATTEMPTS')).toBe('7');
    });

    it('lets the Scheduler job’s service account invoke it', () => {
      const binding = build.call('functions', 'add-invoker-policy-binding');

      expect(binding.positionals[2]).toBe(deploy.positionals[2]);
      expect(binding.flag('--region')).toBe(deploy.flag('--region'));
      expect(binding.flag('--member')).toBe(`serviceAccount:${schedulerServiceAccount(build)}`);
    });
  });
});

describe('Deployment: push on commit (_PUSH=on, docs/push.md)', () => {
  const PUSH = { _PUSH: 'on', _FIRESTORE_LOCATION: 'nam5' };
  const pushFile = functionFile({ PUSH_LINGER_MS: '1000', OUTBOX_COLLECTION: 'orders_outbox' });
  let created: BuildRun;
  let updated: BuildRun;

  beforeAll(() => {
    created = runBuild(['check-substitutions', 'function-config', 'deploy', 'push-trigger'], {
      substitutions: PUSH,
      functionYaml: pushFile,
    });
    updated = runBuild(['function-config', 'deploy', 'push-trigger'], { substitutions: PUSH, functionYaml: pushFile, triggerExists: true });
  });
  afterAll(() => {
    created.remove();
    updated.remove();
  });

  it('creates no trigger and keeps one run per instance unless _PUSH is on', () => {
    const plain = runBuild(['function-config', 'deploy', 'push-trigger']);
    plain.remove();

    expect(plain.failed).toBeUndefined();
    expect(plain.calls.filter((call) => call.is('eventarc'))).toEqual([]);
    expect(plain.call('functions', 'deploy').flag('--concurrency')).toBe('1');
  });

  it('creates the trigger on new documents of OUTBOX_COLLECTION, delivering protobuf to the function’s service', () => {
    const create = created.call('eventarc', 'triggers', 'create');

    expect(created.failed).toBeUndefined();
    expect(create.args[3]).toBe('outboundeventhandler-push');
    expect(create.flag('--location')).toBe('nam5');
    expect(create.args).toEqual(
      expect.arrayContaining([
        '--event-filters=type=google.cloud.firestore.document.v1.created',
        '--event-filters=database=(default)',
        '--event-filters=namespace=(default)',
        '--event-filters-path-pattern=document=orders_outbox/{id}',
        '--event-data-content-type=application/protobuf',
        `--service-account=outbound-relay-push@${PROJECT_ID}.iam.gserviceaccount.com`,
        '--destination-run-region=us-central1',
      ]),
    );
  });

  it('updates the trigger when it exists instead of creating a second one', () => {
    expect(updated.calls.filter((call) => call.is('eventarc', 'triggers', 'create'))).toEqual([]);
    expect(updated.call('eventarc', 'triggers', 'update').flag('--location')).toBe('nam5');
  });

  it('lets the trigger’s account invoke the function and receive events', () => {
    const invokers = created.calls.filter((call) => call.is('functions', 'add-invoker-policy-binding'));
    const receiver = created.call('projects', 'add-iam-policy-binding');

    expect(invokers.map((call) => call.flag('--member'))).toContain(
      `serviceAccount:outbound-relay-push@${PROJECT_ID}.iam.gserviceaccount.com`,
    );
    expect(receiver.flag('--role')).toBe('roles/eventarc.eventReceiver');
  });

  it('lets kicks fold into the running instance: concurrency 80 on 1 vCPU, one instance per shard', () => {
    const deploy = created.call('functions', 'deploy');

    expect(deploy.flag('--concurrency')).toBe('80');
    expect(deploy.flag('--cpu')).toBe('1');
    expect(deploy.flag('--max-instances')).toBe('1');
  });

  it('fails before deploying when _PUSH is on and PUSH_LINGER_MS is 0, or the Firestore location is missing', () => {
    const noLinger = runBuild(['function-config'], { substitutions: PUSH });
    const noLocation = runBuild(['check-substitutions'], { substitutions: { _PUSH: 'on' } });
    noLinger.remove();
    noLocation.remove();

    expect(noLinger.failed?.stderr).toContain('PUSH_LINGER_MS above 0');
    expect(noLocation.failed?.stderr).toContain('_FIRESTORE_LOCATION');
  });

  it('calls gcloud eventarc only with commands and flags gcloud’s own parser accepts', () => {
    const commands = [created.call('eventarc', 'triggers', 'create'), updated.call('eventarc', 'triggers', 'update')];
    // A config of its own, no account and no metadata server: gcloud parses, then stops for want of an account
    // before any request; an unknown flag or a bad value stops it at the parser instead.
    const config = mkdtempSync(path.join(os.tmpdir(), 'oeh-gcloud-'));
    try {
      for (const call of commands) {
        const result = spawnSync('gcloud', [...call.args, `--project=${PROJECT_ID}`], {
          encoding: 'utf8',
          timeout: 60_000,
          env: {
            PATH: process.env.PATH,
            HOME: config,
            CLOUDSDK_CONFIG: config,
            CLOUDSDK_CORE_CHECK_GCE_METADATA: 'false',
            CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
            CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: '1',
          },
        });
        expect(result.stderr).toContain('You do not currently have an active account selected');
      }
    } finally {
      rmSync(config, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('Schedule: scheduler.yaml', () => {
  let job: SchedulerJob;
  let deploy: GcloudCall;
  let build: BuildRun;

  beforeAll(() => {
    job = SchedulerJob.parse(parse(schedulerYaml));
    build = runBuild(['function-config', 'deploy']);
    deploy = build.call('functions', 'deploy');
  });
  afterAll(() => build.remove());

  it('is a Cloud Scheduler REST Job with only the fields the build applies, retries spelled out', () => {
    expect(SchedulerJob.safeParse(parse(schedulerYaml)).error).toBeUndefined();
    expect(job.name).toBe('projects/${PROJECT_ID}/locations/${REGION}/jobs/${JOB_ID}');
  });

  it('runs every minute, in an explicit time zone, unless the build overrides the schedule', () => {
    expect(job.schedule).toBe('* * * * *');
    expect(job.timeZone).toBe('Etc/UTC');
    expect(cloudBuild.substitutions._SCHEDULE).toBe('');
  });

  it('POSTs to the function with an OIDC token whose audience is the function URL', () => {
    expect(job.httpTarget.httpMethod).toBe('POST');
    expect(job.httpTarget.uri).toBe('${FUNCTION_URL}');
    expect(job.httpTarget.oidcToken.audience).toBe(job.httpTarget.uri);
    expect(job.httpTarget.oidcToken.serviceAccountEmail).toBe('${SCHEDULER_SA_EMAIL}');
  });

  it('retries a failed run a few times with a backoff Scheduler accepts', () => {
    const retry = job.retryConfig;

    expect(retry.retryCount).toBeGreaterThanOrEqual(1);
    expect(retry.retryCount).toBeLessThanOrEqual(5);
    expect(seconds(retry.minBackoffDuration)).toBeGreaterThan(0);
    expect(seconds(retry.maxBackoffDuration)).toBeGreaterThanOrEqual(seconds(retry.minBackoffDuration));
    expect(retry.maxDoublings).toBeGreaterThanOrEqual(0);
  });

  it('waits for an answer at least as long as the function may run, within what Scheduler allows', () => {
    const deadlineS = seconds(job.attemptDeadline);

    expect(deadlineS * 1000).toBeGreaterThanOrEqual(functionTimeoutMs(deploy));
    expect(deadlineS).toBeGreaterThanOrEqual(MIN_ATTEMPT_DEADLINE_S);
    expect(deadlineS).toBeLessThanOrEqual(MAX_ATTEMPT_DEADLINE_S);
  });
});

describe('Scheduler job applied by the build', () => {
  let build: BuildRun;
  let create: GcloudCall;
  let job: SchedulerJob;

  beforeAll(() => {
    build = runBuild(['function-config', 'deploy', 'scheduler-render', 'scheduler-apply']);
    create = build.call('scheduler', 'jobs', 'create', 'http');
    job = SchedulerJob.parse(parse(schedulerYaml));
  });
  afterAll(() => build.remove());

  it('creates the job in the function’s region when it does not exist yet', () => {
    const region = build.call('functions', 'deploy').text('--region');

    expect(create.positionals.slice(4)).toEqual([`projects/${PROJECT_ID}/locations/${region}/jobs/outbound-event-handler`]);
  });

  it('targets the URL of the function it deployed, as the target and as the OIDC audience', () => {
    const lookup = build.call('functions', 'describe');
    const deploy = build.call('functions', 'deploy');

    expect(lookup.positionals[2]).toBe(deploy.positionals[2]);
    expect(lookup.flag('--region')).toBe(deploy.flag('--region'));
    expect(create.flag('--uri')).toBe(FUNCTION_URL);
    expect(create.flag('--oidc-token-audience')).toBe(FUNCTION_URL);
    expect(create.flag('--http-method')).toBe('post');
  });

  it('signs its requests as the service account allowed to invoke the function', () => {
    expect(create.flag('--oidc-service-account-email')).toBe(schedulerServiceAccount(build));
  });

  it('applies the schedule, time zone, attempt deadline, retry settings, headers and body of scheduler.yaml', () => {
    expect(Object.fromEntries(create.flags)).toMatchObject({
      '--schedule': job.schedule,
      '--time-zone': job.timeZone,
      '--attempt-deadline': job.attemptDeadline,
      '--max-retry-attempts': job.retryConfig.retryCount,
      '--min-backoff': job.retryConfig.minBackoffDuration,
      '--max-backoff': job.retryConfig.maxBackoffDuration,
      '--max-doublings': job.retryConfig.maxDoublings,
      '--max-retry-duration': job.retryConfig.maxRetryDuration,
      '--headers': job.httpTarget.headers,
      '--message-body': Buffer.from(job.httpTarget.body ?? '', 'base64').toString('utf8'),
    });
  });

  it('updates the job when it exists instead of creating a second one', () => {
    const run = runBuild(['function-config', 'deploy', 'scheduler-render', 'scheduler-apply'], { jobExists: true });
    run.remove();
    const update = run.call('scheduler', 'jobs', 'update', 'http');

    expect(run.calls.filter((call) => call.is('scheduler', 'jobs', 'create'))).toEqual([]);
    expect(update.positionals.slice(4)).toEqual(create.positionals.slice(4));
    expect(update.flag('--uri')).toBe(FUNCTION_URL);
    expect(update.flag('--update-headers')).toEqual(job.httpTarget.headers);
    expect(update.flag('--max-retry-attempts')).toBe(job.retryConfig.retryCount);
  });

  it('uses _SCHEDULE instead of the file’s schedule when it is set', () => {
    const run = runBuild(['function-config', 'deploy', 'scheduler-render', 'scheduler-apply'], {
      substitutions: { _SCHEDULE: '*/5 * * * *' },
    });
    run.remove();

    expect(run.call('scheduler', 'jobs', 'create', 'http').flag('--schedule')).toBe('*/5 * * * *');
  });

  it('drains every shard of SHARD_COUNT with one function and one job, an instance per SHARDS_PER_RUN shards', () => {
    const run = runBuild(['function-config', 'deploy', 'scheduler-render', 'scheduler-apply'], {
      functionYaml: functionFile({ SHARD_COUNT: '8', SHARDS_PER_RUN: '4' }),
    });
    run.remove();
    const deploy = run.call('functions', 'deploy');
    const jobCreate = run.call('scheduler', 'jobs', 'create', 'http');

    expect(deploy.positionals[2]).toBe('outboundEventHandler');
    expect(deploy.envFile().has('SHARD_INDEX')).toBe(false);
    expect(parseConfig(Object.fromEntries(deploy.envFile()))).toMatchObject({ shardCount: 8, shardIndex: undefined, shardsPerRun: 4 });
    expect(deploy.flag('--max-instances')).toBe('2');
    expect(jobCreate.positionals[4]).toMatch(/\/jobs\/outbound-event-handler$/);
    expect(jobCreate.flag('--description')).toContain('every shard of 8');
  });

  it('gives a shard its own function and its own job when the build pins it with _SHARD_INDEX', () => {
    const run = runBuild(['function-config', 'deploy', 'scheduler-render', 'scheduler-apply'], {
      functionYaml: functionFile({ SHARD_COUNT: '4' }),
      substitutions: { _SHARD_INDEX: '2' },
    });
    run.remove();
    const deploy = run.call('functions', 'deploy');
    const shardCreate = run.call('scheduler', 'jobs', 'create', 'http');

    expect(deploy.positionals[2]).toBe('outboundEventHandler-shard-2');
    expect(Object.fromEntries(deploy.envFile())).toMatchObject({ SHARD_COUNT: '4', SHARD_INDEX: '2' });
    expect(shardCreate.positionals[4]).toMatch(/\/jobs\/outbound-event-handler-shard-2$/);
    expect(shardCreate.flag('--description')).toContain('shard 2 of 4');
  });

  it('fails the build when scheduler.yaml sets a field the build would not apply', () => {
    const withUnappliedField = `${schedulerYaml}\nlegacyAppEngineCron: true\n`;
    const run = runBuild(['function-config', 'deploy', 'scheduler-render', 'scheduler-apply'], { schedulerYaml: withUnappliedField });
    run.remove();

    expect(run.failed).toEqual({ step: 'scheduler-render', stderr: expect.stringContaining('legacyAppEngineCron') as string });
    expect(run.calls.filter((call) => call.is('scheduler'))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Running build steps with a stand-in gcloud

/** One recorded gcloud invocation, its flags parsed from `--flag=value`, `--flag value` and `--flags-file`. */
class GcloudCall {
  readonly positionals: string[] = [];
  readonly flags = new Map<string, unknown>();

  constructor(
    readonly args: readonly string[],
    cwd: string,
  ) {
    for (let i = 0; i < args.length; i += 1) {
      const arg = args[i] ?? '';
      if (!arg.startsWith('--')) {
        this.positionals.push(arg);
        continue;
      }
      const equals = arg.indexOf('=');
      const next = args[i + 1];
      let name = arg;
      let value: unknown = true;
      if (equals >= 0) {
        name = arg.slice(0, equals);
        value = arg.slice(equals + 1);
      } else if (!BOOLEAN_FLAGS.has(arg) && next !== undefined && !next.startsWith('--')) {
        value = next;
        i += 1;
      }
      if (name === '--env-vars-file' && typeof value === 'string') {
        this.envVars = new Map(
          Object.entries(z.record(z.string(), z.string()).parse(parse(readFileSync(path.resolve(cwd, value), 'utf8')))),
        );
        this.flags.set(name, value);
      } else if (name === '--flags-file' && typeof value === 'string') {
        const file = z.record(z.string(), z.unknown()).parse(parse(readFileSync(path.resolve(cwd, value), 'utf8')));
        for (const [flag, flagValue] of Object.entries(file)) this.flags.set(flag, flagValue ?? true);
      } else {
        this.flags.set(name, value);
      }
    }
  }

  private envVars: Map<string, string> | undefined;

  /** The environment of --env-vars-file, read when the call was made. */
  envFile(): Map<string, string> {
    if (this.envVars === undefined) throw new Error(`gcloud ${this.positionals.join(' ')} has no --env-vars-file`);
    return this.envVars;
  }

  is(...words: string[]): boolean {
    return words.every((word, index) => this.positionals[index] === word);
  }

  flag(name: string): unknown {
    return this.flags.get(name);
  }

  text(name: string): string {
    const value = this.flags.get(name);
    if (typeof value !== 'string') throw new Error(`gcloud ${this.positionals.join(' ')} has no ${name} value (got ${String(value)})`);
    return value;
  }
}

/** The HMAC key mounted from Secret Manager, as deploy/function.yaml's comment shows. */
const HMAC_MOUNT = { ROUTER_HMAC_SECRET: 'outbound-router-hmac:latest' };

/** The flags `gcloud functions deploy` takes (gcloud 528 --help, with the global --quiet). */
const FUNCTIONS_DEPLOY_FLAGS = new Set(
  `--gen2 --region --runtime --source --entry-point --trigger-http --allow-unauthenticated --no-allow-unauthenticated
   --ingress-settings --egress-settings --service-account --run-service-account --timeout --memory --cpu --concurrency
   --max-instances --min-instances --clear-max-instances --clear-min-instances --env-vars-file --set-env-vars
   --update-env-vars --remove-env-vars --clear-env-vars --set-secrets --update-secrets --remove-secrets --clear-secrets
   --build-env-vars-file --set-build-env-vars --update-build-env-vars --remove-build-env-vars --clear-build-env-vars
   --docker-repository --kms-key --vpc-connector --retry --stage-bucket --ignore-file --quiet`.split(/\s+/),
);
/** Groups gcloud refuses to combine: each replaces, clears or edits the same list. */
const FUNCTIONS_DEPLOY_EXCLUSIVE = [
  ['--env-vars-file', '--set-env-vars', '--clear-env-vars', '--update-env-vars'],
  ['--env-vars-file', '--set-env-vars', '--clear-env-vars', '--remove-env-vars'],
  ['--set-secrets', '--clear-secrets', '--update-secrets'],
  ['--set-secrets', '--clear-secrets', '--remove-secrets'],
];

/** The functions the stand-in gcloud has deployed, with their environment and secret mounts. */
function deployedFunctions(state: string): Record<string, { env: Record<string, string>; secrets: Record<string, string> }> {
  return z
    .record(z.string(), z.object({ env: z.record(z.string(), z.string()), secrets: z.record(z.string(), z.string()) }))
    .parse(JSON.parse(readFileSync(state, 'utf8')));
}

/** A value parseConfig accepts for a declared variable: its default, or a sample for those without one. */
function sampleValue(variable: string, fallback: string | number | undefined): string {
  const samples: Record<string, string> = {
    ROUTER_URL,
    ROUTER_AUDIENCE: 'https://router.example.com',
    GOOGLE_CLOUD_PROJECT: 'my-project',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
    PREVIOUS_SHARD_COUNT: '2',
    SHARDS_PER_RUN: '1',
  };
  const value = samples[variable] ?? (fallback === undefined ? undefined : String(fallback));
  if (value === undefined) throw new Error(`give ${variable} a sample value`);
  return value;
}

/** Flags that take no value, so `--flag positional` is not read as `--flag=positional`. */
const BOOLEAN_FLAGS = new Set([
  '--gen2',
  '--v2',
  '--trigger-http',
  '--allow-unauthenticated',
  '--no-allow-unauthenticated',
  '--clear-secrets',
  '--clear-headers',
  '--clear-message-body',
  '--retry',
  '--quiet',
]);

interface BuildRun {
  readonly calls: GcloudCall[];
  /** The step that exited non-zero, which ends the build as in Cloud Build. */
  readonly failed: { step: string; stderr: string } | undefined;
  call(...words: string[]): GcloudCall;
  remove(): void;
}

interface BuildOptions {
  /** Substitutions given to `gcloud builds submit`, over cloudbuild.yaml's defaults. */
  readonly substitutions?: Record<string, string>;
  /** Whether `gcloud scheduler jobs describe` finds the job. */
  readonly jobExists?: boolean;
  /** Whether `gcloud eventarc triggers describe` finds the push trigger. */
  readonly triggerExists?: boolean;
  readonly schedulerYaml?: string;
  /** deploy/function.yaml, the checked-in one unless given. */
  readonly functionYaml?: string;
  /** A file the stand-in gcloud keeps the deployed functions in, shared by the builds given the same one. */
  readonly state?: string;
}

/**
 * Runs the named steps of cloudbuild.yaml in order, in a fresh workspace holding scheduler.yaml and the
 * project's node_modules, with every substitution as an environment variable (automapSubstitutions).
 */
function runBuild(stepIds: readonly string[], options: BuildOptions = {}): BuildRun {
  const root = mkdtempSync(path.join(os.tmpdir(), 'oeh-cloudbuild-'));
  const workspace = path.join(root, 'workspace');
  const bin = path.join(root, 'bin');
  const log = path.join(root, 'gcloud-calls.jsonl');
  mkdirSync(workspace);
  mkdirSync(bin);
  writeFileSync(path.join(workspace, 'scheduler.yaml'), options.schedulerYaml ?? schedulerYaml);
  mkdirSync(path.join(workspace, 'deploy'));
  writeFileSync(path.join(workspace, 'deploy', 'function.yaml'), options.functionYaml ?? functionYaml);
  symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(workspace, 'node_modules'), 'dir');
  // The build step before function-config builds dist/; here the modules parseConfig needs are compiled alone.
  symlinkSync(compiledConfig(), path.join(workspace, 'dist'), 'dir');
  writeFakeGcloud(bin);

  const env: Record<string, string> = {
    PATH: [bin, path.dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(path.delimiter),
    HOME: root,
    PROJECT_ID,
    ...cloudBuild.substitutions,
    _ROUTER_URL: ROUTER_URL,
    ...options.substitutions,
    ...Object.fromEntries(cloudBuild.options.env.map(keyValue)),
    FAKE_GCLOUD_LOG: log,
    FAKE_GCLOUD_STATE: options.state ?? path.join(root, 'functions.json'),
    FAKE_FUNCTION_URL: FUNCTION_URL,
    FAKE_JOB_EXISTS: options.jobExists === true ? '1' : '0',
    FAKE_TRIGGER_EXISTS: options.triggerExists === true ? '1' : '0',
  };

  let failed: BuildRun['failed'];
  for (const id of stepIds) {
    const step = stepNamed(id);
    const script = path.join(root, `step-${id}`);
    writeFileSync(script, step.script, { mode: 0o755 });
    const stepEnv = { ...env, ...Object.fromEntries(step.env.map(keyValue)) };
    // Cloud Build runs a script with its shebang's interpreter, or /bin/sh without one.
    const [command, args] = step.script.startsWith('#!') ? [script, []] : ['/bin/sh', [script]];
    const result = spawnSync(command, args, { cwd: workspace, env: stepEnv, encoding: 'utf8', timeout: 30_000 });
    if (result.status !== 0) {
      failed = { step: id, stderr: `${result.stderr}${result.error?.message ?? ''}` };
      break;
    }
  }

  const calls = existsSync(log)
    ? readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((line) => new GcloudCall(z.array(z.string()).parse(JSON.parse(line)), workspace))
    : [];
  return {
    calls,
    failed,
    call(...words) {
      const found = calls.filter((call) => call.is(...words));
      if (found.length !== 1) {
        const made = calls.map((call) => `gcloud ${call.args.join(' ')}`).join('\n  ');
        throw new Error(
          `expected one "gcloud ${words.join(' ')}", found ${found.length}${failed ? ` (step ${failed.step} failed: ${failed.stderr})` : ''}; calls:\n  ${made}`,
        );
      }
      return found[0] as GcloudCall;
    },
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

let compiledConfigDir: string | undefined;

/** src/config.ts and the modules it imports, compiled to JavaScript once per test file, as dist/ would hold them. */
function compiledConfig(): string {
  if (compiledConfigDir !== undefined) return compiledConfigDir;
  const out = mkdtempSync(path.join(os.tmpdir(), 'oeh-dist-'));
  const pending = ['config.ts', 'settings/deploy-file.ts'];
  const done = new Set<string>();
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (done.has(file)) continue;
    done.add(file);
    const source = readFileSync(path.join(PROJECT_ROOT, 'src', file), 'utf8');
    const js = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    mkdirSync(path.dirname(path.join(out, file)), { recursive: true });
    writeFileSync(path.join(out, file.replace(/\.ts$/, '.js')), js);
    for (const [, relative = ''] of js.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)) {
      pending.push(path.normalize(path.join(path.dirname(file), `${relative}.ts`)));
    }
  }
  writeFileSync(path.join(out, 'package.json'), '{"type":"module"}');
  symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(out, 'node_modules'), 'dir');
  compiledConfigDir = out;
  return out;
}
afterAll(() => {
  if (compiledConfigDir !== undefined) rmSync(compiledConfigDir, { recursive: true, force: true });
});

/**
 * A gcloud that records its arguments, answers the two look-ups the build makes, and applies what
 * `functions deploy` does to a function's environment and secret mounts to a state file: --env-vars-file and
 * --set-env-vars replace the environment, --update-env-vars adds to it, --clear-env-vars empties it;
 * --set-secrets replaces the mounts, --update-secrets adds, --clear-secrets empties; without any, both stay.
 */
function writeFakeGcloud(bin: string): void {
  writeFileSync(
    path.join(bin, 'gcloud.cjs'),
    `const fs = require('node:fs');
const path = require('node:path');
const { parse } = require(path.join(process.cwd(), 'node_modules', 'yaml'));
const args = process.argv.slice(2);
fs.appendFileSync(process.env.FAKE_GCLOUD_LOG, JSON.stringify(args) + '\\n');
const is = (...words) => words.every((word, i) => args[i] === word);
if (is('functions', 'deploy')) {
  const file = process.env.FAKE_GCLOUD_STATE;
  const state = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
  const fn = (state[args[2]] ??= { env: {}, secrets: {} });
  const list = (text) => Object.fromEntries(text.split(',').filter(Boolean).map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
  for (const arg of args) {
    const [flag, ...rest] = arg.split('=');
    const value = rest.join('=');
    if (flag === '--env-vars-file') fn.env = parse(fs.readFileSync(value, 'utf8'));
    if (flag === '--set-env-vars') fn.env = list(value);
    if (flag === '--update-env-vars') Object.assign(fn.env, list(value));
    if (flag === '--clear-env-vars') fn.env = {};
    if (flag === '--set-secrets') fn.secrets = list(value);
    if (flag === '--update-secrets') Object.assign(fn.secrets, list(value));
    if (flag === '--clear-secrets') fn.secrets = {};
  }
  fs.writeFileSync(file, JSON.stringify(state));
}
if (is('functions', 'describe')) process.stdout.write(process.env.FAKE_FUNCTION_URL + '\\n');
if (is('eventarc', 'triggers', 'describe') && process.env.FAKE_TRIGGER_EXISTS !== '1') {
  process.stderr.write('ERROR: (gcloud.eventarc.triggers.describe) NOT_FOUND: Resource not found.\\n');
  process.exitCode = 1;
}
if (is('scheduler', 'jobs', 'describe') && process.env.FAKE_JOB_EXISTS !== '1') {
  process.stderr.write('ERROR: (gcloud.scheduler.jobs.describe) NOT_FOUND: Job not found.\\n');
  process.exitCode = 1;
}
`,
  );
  const gcloud = path.join(bin, 'gcloud');
  writeFileSync(gcloud, `#!/bin/sh\nexec node "$(dirname "$0")/gcloud.cjs" "$@"\n`);
  chmodSync(gcloud, 0o755);
}

// ---------------------------------------------------------------------------------------------------------
// Reading values

function readProjectFile(relativePath: string): string {
  return readFileSync(path.join(PROJECT_ROOT, relativePath), 'utf8');
}

function stepNamed(id: string): z.infer<typeof Step> {
  const step = cloudBuild.steps.find((candidate) => candidate.id === id);
  if (!step) throw new Error(`cloudbuild.yaml has no step "${id}"`);
  return step;
}

function keyValue(entry: string): [string, string] {
  const equals = entry.indexOf('=');
  return equals < 0 ? [entry, ''] : [entry.slice(0, equals), entry.slice(equals + 1)];
}

/** gcloud's KEY=VALUE,... list, as --set-env-vars and --set-secrets take it. */
function keyValueList(list: string): Map<string, string> {
  return new Map(list === '' ? [] : list.split(',').map(keyValue));
}

function msFromEnv(envVars: Map<string, string>, name: string, fallbackMs: number): number {
  const value = envVars.get(name);
  return value === undefined ? fallbackMs : Number(value);
}

/** gcloud durations as --timeout takes them: "300s", "5m", "1h" or plain seconds. */
function seconds(duration: string): number {
  const match = /^(\d+)([smh]?)$/.exec(duration);
  if (!match) throw new Error(`not a duration: ${duration}`);
  return Number(match[1]) * { '': 1, s: 1, m: 60, h: 3600 }[match[2] as '' | 's' | 'm' | 'h'];
}

function functionTimeoutMs(deploy: GcloudCall): number {
  return seconds(deploy.text('--timeout')) * 1000;
}

function schedulerServiceAccount(build: BuildRun): string {
  return build
    .call('functions', 'add-invoker-policy-binding')
    .text('--member')
    .replace(/^serviceAccount:/, '');
}

/** The Node.js major of an image like node:22-bookworm or node:24. */
function nodeMajorOfImage(image: string): number {
  const match = /^(?:docker\.io\/)?(?:library\/)?node:(\d+)/.exec(image);
  return match ? Number(match[1]) : 0;
}
