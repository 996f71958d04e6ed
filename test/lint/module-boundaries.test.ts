/**
 * The module boundaries of docs/architecture.md ("Layering") are lint errors: this runs the
 * project's own ESLint configuration over imports that cross them (and over ones that do not).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ESLint } from 'eslint';

const eslint = new ESLint({ cwd: new URL('../..', import.meta.url).pathname });

async function importErrors(filePath: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath });
  return (result?.messages ?? [])
    .filter((m) => m.ruleId === 'no-restricted-imports')
    .map((m) => m.message);
}

const cases = [
  {
    from: 'shared/runtime/not-yet-implemented.ts',
    source: "import '../../functions/index.ts';",
    error: /shared\/ .* must never import functions\//,
  },
  {
    from: 'functions/index.ts',
    source: "import '@kubernetes/client-node';",
    error: null, // the composition root is not inside a function folder
  },
  {
    from: 'shared/runtime/not-yet-implemented.ts',
    source: "import '@kubernetes/client-node';",
    error: /Only shared\/k8s\/ imports @kubernetes\/client-node/,
  },
  {
    from: 'shared/runtime/not-yet-implemented.ts',
    source: "import 'pg';",
    error: /Only shared\/db\/ imports pg/,
  },
  {
    from: 'shared/runtime/not-yet-implemented.ts',
    source: "import '@aws-sdk/client-s3';",
    error: /Only shared\/s3\/ imports @aws-sdk\/client-s3/,
  },
  {
    from: 'shared/k8s/client.ts',
    source: "import '@aws-sdk/client-s3';",
    error: /Only shared\/s3\/ imports @aws-sdk\/client-s3/,
  },
  {
    from: 'shared/db/target.ts',
    source: "import '@aws-sdk/client-s3';",
    error: /Only shared\/s3\/ imports @aws-sdk\/client-s3/,
  },
  {
    from: 'shared/s3/probe.ts',
    source: "import '@aws-sdk/client-s3';",
    error: null,
  },
  {
    from: 'shared/s3/probe.ts',
    source: "import 'pg';",
    error: /Only shared\/db\/ imports pg/,
  },
  {
    from: 'shared/runtime/not-yet-implemented.ts',
    source: "import '../other/module.ts';",
    error: null,
  },
  {
    from: 'functions/index.ts',
    source: "import './some-function/index.ts';",
    error: null, // the composition root lists the functions
  },
] as const;

// Files inside a function folder: lint them as virtual files (the type-aware project knows
// only files on disk), with the project's configuration otherwise unchanged.
const functionCases = [
  { source: "import '../other-function/handler.ts';", error: /must not import another function/ },
  { source: "import '../index.ts';", error: /must not import another function/ },
  { source: "import '../../shared/runtime/not-yet-implemented.ts';", error: null },
  { source: "import './events.ts';", error: null },
  { source: "import 'pg';", error: /Only shared\/db\/ imports pg/ },
  {
    source: "import '@aws-sdk/client-s3';",
    error: /Only shared\/s3\/ imports @aws-sdk\/client-s3/,
  },
] as const;

for (const { from, source, error } of cases) {
  test(`${from}: ${source} ${error ? 'is refused' : 'is allowed'}`, async () => {
    const errors = await importErrors(from, `${source}\nexport {};\n`);
    if (error) {
      assert.equal(errors.length, 1, `expected one boundary error, got ${JSON.stringify(errors)}`);
      assert.match(errors[0]!, error);
    } else {
      assert.deepEqual(errors, []);
    }
  });
}

const untyped = new ESLint({
  cwd: new URL('../..', import.meta.url).pathname,
  overrideConfig: { languageOptions: { parserOptions: { projectService: false, project: null } } },
  // Only the boundary rule: the type-aware rules need a file the TypeScript project has.
  ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
});

for (const { source, error } of functionCases) {
  test(`functions/some-function/handler.ts: ${source} ${error ? 'is refused' : 'is allowed'}`, async () => {
    const [result] = await untyped.lintText(`${source}\nexport {};\n`, {
      filePath: 'functions/some-function/handler.ts',
    });
    const errors = (result?.messages ?? []).map((m) => m.message);
    if (error) {
      assert.equal(errors.length, 1, `expected one boundary error, got ${JSON.stringify(errors)}`);
      assert.match(errors[0]!, error);
    } else {
      assert.deepEqual(errors, []);
    }
  });
}
