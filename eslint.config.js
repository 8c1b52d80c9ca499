// One flat config for the whole repository (STYLE.md §10): type-checked rules where they catch
// real bugs (floating promises, misused promises), layering rules between workspaces.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', 'console/dist/**', 'coverage/**', 'test-results/**', '.data/**', '**/*.js', '**/*.mjs', 'docs/**'],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: ['./tsconfig.lint.json'], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      eqeqeq: ['error', 'always'],
      'no-empty': ['error', { allowEmptyCatch: false }],
    },
  },
  {
    // the console is a browser app with its own tsconfig (DOM libs, bundler resolution)
    files: ['console/**/*.{ts,tsx}'],
    languageOptions: { parserOptions: { project: ['./console/tsconfig.json'], tsconfigRootDir: import.meta.dirname } },
  },
  {
    // services never import each other; they share only the protocol and models packages
    files: ['edge-agent/src/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/control-server/**', '@portail/control-server'] }] },
  },
  {
    files: ['control-server/src/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['**/edge-agent/**', '@portail/edge-agent'] }] },
  },
  {
    files: ['**/*.test.ts', '**/*.test.tsx', 'test/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
