import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'tools/', 'dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The architecture's one hard rule: only adapters/ may import a chat library.
    files: ['src/**/*.ts', 'commands/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: ['grammy', '@slack/bolt', 'discord.js'] }],
    },
  },
);
