// ESLint flat config: typescript-eslint strict + type-checked rules, plus the module
// boundaries of docs/architecture.md enforced as lint errors rather than left to review.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Imports that cross a boundary, by the folder that makes them. */
const sharedMayNotImportFunctions = {
  regex: '(^|/)functions(/|$)',
  message: 'shared/ is the library every function uses; it must never import functions/.',
};
const functionMayNotImportSibling = {
  // `../<other-function>/...` or `../index.ts` (the composition root).
  regex: '^\\.\\./(?!\\.\\./)',
  message:
    'A function must not import another function (or the composition root); move what both need into shared/.',
};
const onlyK8sModuleImportsClient = {
  name: '@kubernetes/client-node',
  message: 'Only shared/k8s/ imports @kubernetes/client-node; use its narrow interfaces.',
};
const onlyDbModuleImportsPg = {
  name: 'pg',
  message: 'Only shared/db/ imports pg; use its query and transaction helpers.',
};
const onlyS3ModuleImportsSdk = {
  name: '@aws-sdk/client-s3',
  message: 'Only shared/s3/ imports @aws-sdk/client-s3; use its probe.',
};

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.tools/', '.tmp/', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  ...tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      'no-console': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/consistent-type-imports': 'error',
      // node:test's test() and describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] },
          ],
        },
      ],
      // @kubernetes/client-node models are classes of plain data (no methods, no private
      // state) that its own serializer builds from object literals; literals are the norm.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
    },
  },
  {
    files: ['shared/**/*.ts'],
    ignores: ['shared/k8s/**', 'shared/db/**', 'shared/s3/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [sharedMayNotImportFunctions],
          paths: [onlyK8sModuleImportsClient, onlyDbModuleImportsPg, onlyS3ModuleImportsSdk],
        },
      ],
    },
  },
  {
    files: ['shared/k8s/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [sharedMayNotImportFunctions],
          paths: [onlyDbModuleImportsPg, onlyS3ModuleImportsSdk],
        },
      ],
    },
  },
  {
    files: ['shared/db/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [sharedMayNotImportFunctions],
          paths: [onlyK8sModuleImportsClient, onlyS3ModuleImportsSdk],
        },
      ],
    },
  },
  {
    files: ['shared/s3/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [sharedMayNotImportFunctions],
          paths: [onlyK8sModuleImportsClient, onlyDbModuleImportsPg],
        },
      ],
    },
  },
  {
    // The embedded environment (npm start without a cluster, and the tests' servers) starts
    // PostgreSQL, S3 and the API server and sets them up as their administrator; it is no
    // client of them on a tenant's behalf, so it talks to them with their clients directly.
    files: ['shared/local/embedded/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [sharedMayNotImportFunctions] }],
    },
  },
  {
    files: ['functions/*/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [functionMayNotImportSibling],
          paths: [onlyK8sModuleImportsClient, onlyDbModuleImportsPg, onlyS3ModuleImportsSdk],
        },
      ],
    },
  },
  {
    // Tests and scripts talk to the real services directly, and may print.
    files: ['test/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts', '**/*.test.ts'],
    rules: {
      'no-console': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
