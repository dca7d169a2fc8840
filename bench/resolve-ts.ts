import { registerHooks } from 'node:module';

/**
 * Bench modules import each other by their `.js` names, as `src/` does, so tsc resolves them without
 * `allowImportingTsExtensions`; Node's type stripping runs the `.ts` sources, so this maps one to the other.
 */
registerHooks({
  resolve(specifier, context, nextResolve) {
    const fromBench = context.parentURL?.includes('/bench/') === true && context.parentURL.endsWith('.ts');
    if (!fromBench || !specifier.startsWith('.') || !specifier.endsWith('.js')) return nextResolve(specifier, context);
    try {
      return nextResolve(specifier, context);
    } catch {
      return nextResolve(`${specifier.slice(0, -'.js'.length)}.ts`, context);
    }
  },
});
