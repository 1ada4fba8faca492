// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

/** Node built-ins and I/O libraries that must never be imported by deterministic workflow code. */
const forbiddenInWorkflows = [
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
  'undici',
  'express',
  'pino',
  'prom-client',
  '@grpc/grpc-js',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
  '@temporalio/testing',
];

export default tseslint.config(
  // The install guards run before dependencies exist: plain dependency-free CommonJS, outside the typed lint.
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      'coverage/**',
      '.tools/**',
      'dev/ensure-installed.cjs',
      'temporal-server/install.cjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.mjs'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The benchmark's floor workflow runs in the same sandbox, under the same rules.
    files: ['workflows/**/*.ts', 'bench/floor/workflow.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: forbiddenInWorkflows.map((name) => ({
            name,
            message: 'workflows/ is deterministic code: no Node built-ins or I/O libraries (use activities).',
            allowTypeImports: true,
          })),
          patterns: [
            {
              group: ['**/activities/*', '**/plural-client/*', '**/api/*', '**/worker/*'],
              message: 'workflows/ may import only types from outside workflows/.',
              allowTypeImports: true,
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'Use sleep() or condition() from @temporalio/workflow.' },
        { name: 'setInterval', message: 'Use sleep() from @temporalio/workflow.' },
        { name: 'process', message: 'Workflows must not read the environment.' },
      ],
      'no-restricted-properties': [
        'error',
        {
          object: 'Date',
          property: 'now',
          message: 'Read workflow time through workflows/clock.ts so every use is visible.',
        },
        {
          object: 'Math',
          property: 'random',
          message: 'Use uuid4() or a deterministic source from @temporalio/workflow.',
        },
      ],
    },
  },
  {
    files: ['workflows/clock.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
);
