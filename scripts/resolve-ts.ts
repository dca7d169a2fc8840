import { registerHooks } from 'node:module';

/**
 * The repository's TypeScript outside src/ (scripts/) imports its own modules by their `.js` names, as src/
 * does, so tsc resolves them without `allowImportingTsExtensions`; Node's type stripping runs the `.ts` sources,
 * so a `.js` import from a `.ts` file of this repository that has no `.js` file is resolved to the `.ts` one.
 * (bench/resolve-ts.ts does the same for bench/ alone.)
 */
registerHooks({
  resolve(specifier, context, nextResolve) {
    const parent = context.parentURL ?? '';
    const ours = parent.endsWith('.ts') && !parent.includes('/node_modules/');
    if (!ours || !specifier.startsWith('.') || !specifier.endsWith('.js')) return nextResolve(specifier, context);
    try {
      return nextResolve(specifier, context);
    } catch {
      return nextResolve(`${specifier.slice(0, -'.js'.length)}.ts`, context);
    }
  },
});
