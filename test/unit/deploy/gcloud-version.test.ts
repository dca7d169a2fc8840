import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../support/project-root.js';

/*
 * The build pulls the Google Cloud CLI twice: as the deploy steps' image and as the test step's apt packages.
 * Both registries keep about a year of releases, so the release is one substitution (_GCLOUD_VERSION, how to
 * choose it: the top of cloudbuild.yaml) and nothing else in the file names a release of its own.
 */

interface Step {
  readonly id: string;
  readonly name: string;
  readonly script: string;
}
const build = parse(readFileSync(path.join(PROJECT_ROOT, 'cloudbuild.yaml'), 'utf8')) as {
  substitutions: Record<string, string>;
  steps: Step[];
};
const version = build.substitutions._GCLOUD_VERSION ?? '';
const testStep = build.steps.find((step) => step.id === 'test') as Step;
const CLOUD_SDK_IMAGE = 'gcr.io/google.com/cloudsdktool/google-cloud-cli';
/** The last release whose Firestore emulator runs on Java 17 (the one this repository was developed with). */
const LAST_RELEASE_ON_JAVA_17 = 528;
/** OpenJDK runtimes each Debian release of the official Node images carries. */
const OPENJDK_OF_DEBIAN: Record<string, readonly number[]> = { bookworm: [17], trixie: [21, 25] };

describe('Deployment: the Google Cloud CLI release cloudbuild.yaml uses', () => {
  it('is one release, chosen by _GCLOUD_VERSION', () => {
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('is the tag of every google-cloud-cli image the steps run in', () => {
    const images = build.steps.filter((step) => step.name.startsWith(`${CLOUD_SDK_IMAGE}:`)).map((step) => step.name);

    expect(images.length).toBeGreaterThan(0);
    expect(new Set(images)).toEqual(new Set([`${CLOUD_SDK_IMAGE}:\${_GCLOUD_VERSION}-slim`]));
  });

  it('is the version of the Google Cloud CLI and the Firestore emulator the test step installs', () => {
    const pinned = [...testStep.script.matchAll(/"?(google-cloud-cli[a-z-]*)=([^"\s]+)"?/g)].map((m) => [m[1], m[2]]);

    expect(pinned).toEqual([
      ['google-cloud-cli', '$_GCLOUD_VERSION-0'],
      ['google-cloud-cli-firestore-emulator', '$_GCLOUD_VERSION-0'],
    ]);
  });

  it('is named nowhere else in the file', () => {
    const text = readFileSync(path.join(PROJECT_ROOT, 'cloudbuild.yaml'), 'utf8');

    expect(
      text.split('\n').filter((line) => line.includes(version) && !line.trimStart().startsWith('#') && !line.includes('_GCLOUD_VERSION:')),
    ).toEqual([]);
  });

  it('gets the Java its Firestore emulator needs (21 or newer since July 2025), from the test image’s own Debian release', () => {
    const java = Number(/openjdk-(\d+)-jre-headless/.exec(testStep.script)?.[1]);
    const debian = /^node:\d+-(\w+)/.exec(testStep.name)?.[1] ?? '';

    expect(OPENJDK_OF_DEBIAN[debian]).toContain(java);
    if (Number(version.split('.')[0]) > LAST_RELEASE_ON_JAVA_17) expect(java).toBeGreaterThanOrEqual(21);
  });
});
