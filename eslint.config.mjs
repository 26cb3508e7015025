// ESLint (flat config), run by `npm run lint` and as the first level of `npm test`: ESLint's and
// typescript-eslint's recommended rules over the host, webview, contract, test, script and bench code,
// then eslint-config-prettier so that no rule argues with Prettier (layout is Prettier's alone: .prettierrc).
// Not type-aware: typescript-eslint's type-checked rules took 3.5 times the CPU time and 700 MB on this tree
// and found no floating or misused promise; `npm run typecheck` (tsc) checks the types.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

// The .mjs scripts run in Node: its globals are the names on this Node's globalThis (no `globals` package needed).
const nodeGlobals = Object.fromEntries(Object.getOwnPropertyNames(globalThis).map((name) => [name, 'readonly']));

export default tseslint.config(
  { ignores: ['dist/', 'out/', 'out-*/', 'native/build/', 'node_modules/', '.cache/', 'test-results/', '.vscode-test/'] },
  { files: ['extension/**/*.ts', 'webview/**/*.ts', 'contract/**/*.ts', 'test/**/*.{ts,mjs}', 'scripts/**/*.mjs', 'bench/*.mjs', '*.mjs'] },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      // An empty `catch {}` is how this code says "best effort" (killing, unlinking, closing during cleanup).
      'no-empty': ['error', { allowEmptyCatch: true }],
      // It flags deliberate initialisers (`let next = null` before a switch, `matched = false` before a try) and
      // `res = null` that drops a large result early; tsc's definite-assignment check catches reads before a write.
      'no-useless-assignment': 'off',
    },
  },
  { files: ['**/*.mjs'], languageOptions: { globals: nodeGlobals } },
  {
    files: ['test/**'],
    rules: {
      // Tests match names and output holding control characters (hostile names, ANSI colours) on purpose.
      'no-control-regex': 'off',
      // A test's regular expression spells out the exact text it expects (`#   evil\.pkl`: three spaces of indent).
      'no-regex-spaces': 'off',
    },
  },
  {
    files: ['test/e2e/**'],
    rules: {
      // Page functions (frame.$eval) run in the browser, but the host tsconfig has no DOM types: their DOM values are `any`.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  prettier,
);
