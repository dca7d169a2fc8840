/**
 * `node bench/cpu-profile.ts`: one function drain of BENCH_EVENTS (router answering at once) with V8's CPU
 * profiler on (`--cpu-prof`), summarised as self time per package: where the function's CPU per event goes.
 * With `--heap`, the sampling heap profiler instead (`--heap-prof`): bytes allocated per package. Prints a
 * table; the profile itself stays in a temporary directory, not in the repository.
 */
await import(new URL('./resolve-ts.ts', import.meta.url).href);
const { runProfile } = await import('./profile-drain.js');
process.exitCode = await runProfile();
