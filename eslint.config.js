import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const TEST_FUNCTION = '/^(describe|it|test)$/';
const FOCUSED_OR_SKIPPED = '/^(only|skip)$/';
const FOCUS_OR_SKIP_ALIAS = '/^(fdescribe|fit|xdescribe|xit|xtest)$/';
const MESSAGE = 'Focused and skipped tests must not be committed: remove .only / .skip (fit, xit, fdescribe, xdescribe…).';
/** `it.only`, `describe.skip`, `test.only.each`, `it.concurrent.only`, `fit(…)`, `xdescribe.each(…)`… */
const FOCUSED_OR_SKIPPED_TESTS = [
  `MemberExpression[object.name=${TEST_FUNCTION}][property.name=${FOCUSED_OR_SKIPPED}]`,
  `MemberExpression[object.object.name=${TEST_FUNCTION}][property.name=${FOCUSED_OR_SKIPPED}]`,
  `CallExpression[callee.name=${FOCUS_OR_SKIP_ALIAS}]`,
  `MemberExpression[object.name=${FOCUS_OR_SKIP_ALIAS}]`,
].map((selector) => ({ selector, message: MESSAGE }));

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', 'coverage/', 'packages/*/dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: { allowDefaultProject: ['*.js'] } } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // supertest types response bodies as `any`; tests read them as the JSON a user would.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      // A focused or skipped test left in a commit silently shrinks what CI checks.
      'no-restricted-syntax': ['error', ...FOCUSED_OR_SKIPPED_TESTS],
    },
  },
  { files: ['*.js'], ...tseslint.configs.disableTypeChecked },
);
