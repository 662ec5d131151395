import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', '.cache/**', 'media/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The engine runs in plain Node (CLI, benchmarks, worker); it must never depend on the editor.
    files: ['src/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'vscode', message: 'src/engine must not import vscode: it runs headless in the CLI and the worker.' }] },
      ],
    },
  },
  {
    // The contracts (model, run record) are what the engine and the views agree on: no runtime dependencies, nothing from either side.
    files: ['src/contracts/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/engine', '**/engine/*', '**/extension', '**/extension/*', 'vscode', '@tensorflow/*'],
              message: 'src/contracts imports nothing from src/engine, src/extension, vscode or TensorFlow.js.',
            },
          ],
        },
      ],
    },
  },
);
