import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.scratch/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // Abort reasons and user errors are passed through as they are, whatever their type.
      '@typescript-eslint/prefer-promise-reject-errors': 'off',
      // Methods are bound where they are kept (node-redis methods reach their state through this._self).
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    // The Redis clients are optional peer dependencies: the library must load without any of them,
    // so lib/ may import their types (erased) but nothing that runs.
    files: ['lib/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['redis', '@redis/*', 'ioredis', 'iovalkey'],
              allowTypeImports: true,
              message: 'an optional peer dependency: import its types only (`import type`), see lib/connection/node-redis-copy.ts',
            },
          ],
        },
      ],
    },
  },
);
