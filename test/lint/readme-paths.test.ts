/**
 * Every repository path the documentation names exists. The README, docs/, deploy/README.md,
 * each function's README and the other READMEs of the repository name files and folders in
 * markdown links and in inline code spans; a file that moved or was never written leaves a
 * reader following a dead reference. This test reads every markdown file of the repository,
 * extracts those paths and fails, naming each document, path and line, for any that does not
 * exist. No server is involved: it reads files only.
 *
 * What counts as a path:
 * - the target of a markdown link `[text](target)` that is not a URL, resolved from the
 *   document's folder; a `#fragment` is checked against the headings of the markdown file it
 *   names (the document itself for `(#fragment)`);
 * - in an inline code span (fenced blocks are skipped: they show commands' output and trees),
 *   each whitespace-separated word that starts with a top-level directory of the repository
 *   (`functions/`, `shared/`, `deploy/`, …) or is a top-level file (`Dockerfile`,
 *   `skaffold.yaml`, `package.json`, …), resolved from the repository's root;
 * - in a document below the root, a code span that is one relative path whose first segment
 *   is `..` or a sub-folder of the document's folder (`base/config.yaml` in deploy/README.md,
 *   `../k8s/watch.ts` in shared/local/README.md), resolved from that folder: folder READMEs
 *   name their own files that way.
 *
 * A bare file name (`handler.ts`) is not checked: documents list a folder's files after naming
 * the folder (`shared/db/`: `initialise.ts`, `migrations.ts`), and a bare dotted word is as
 * often a host, a group or a column (`supabase.strrl.dev`, `auth.users`).
 *
 * What is not a path, each with the reason, is listed in NOT_PATHS below.
 */
import assert from 'node:assert/strict';
import { existsSync, globSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Top-level directories of the repository: a word starting with one of these is a path. */
const TOP_DIRECTORIES = [
  '.ci',
  'bench',
  'deploy',
  'docs',
  'functions',
  'reports',
  'scripts',
  'shared',
  'test',
];

/** Top-level files: a word equal to one of these is a path. */
const TOP_FILES = [
  '.dockerignore',
  '.gitignore',
  '.prettierignore',
  '.prettierrc.json',
  'Dockerfile',
  'README.md',
  'eslint.config.js',
  'package-lock.json',
  'package.json',
  'skaffold.yaml',
  'stryker.config.json',
  'tsconfig.json',
];

/**
 * Words that look like paths but name no file of the repository, each with why. A path is
 * added here only for one of these reasons, never to silence a path that should exist.
 */
const NOT_PATHS: readonly { readonly matches: (word: string) => boolean; readonly why: string }[] =
  [
    { matches: (w) => w.includes('://'), why: 'a URL, not a repository path' },
    {
      matches: (w) => /[*?{}[\]]/.test(w),
      why: 'a glob (`shared/**/*.test.ts`, `chunk-*.mjs`): it names a set of files, possibly empty',
    },
    {
      matches: (w) => /[<>]/.test(w),
      why: 'a placeholder (`functions/<name>/README.md`): one path per value, not a path',
    },
    { matches: (w) => w.includes('…') || w.includes('...'), why: 'an elided path' },
    {
      matches: (w) => /^dist(\/|$)/.test(w),
      why: 'made by `npm run build` (git-ignored): absent from a fresh clone until a build',
    },
    {
      matches: (w) => /^reports\/mutation\/[^/]+\.(html|json)$/.test(w),
      why: 'written by `npm run mutation` (git-ignored); only its README is in the repository',
    },
  ];

/** Why a word is not a path, or undefined when it is one. */
function notAPath(word: string): string | undefined {
  return NOT_PATHS.find((rule) => rule.matches(word))?.why;
}

/** One path a document names. */
interface NamedPath {
  readonly document: string;
  readonly line: number;
  /** As written in the document. */
  readonly written: string;
  /** Resolved, relative to the repository's root. */
  readonly path: string;
  /** A heading anchor the link names in the target markdown file. */
  readonly fragment?: string | undefined;
}

/** Every markdown document of the repository (what a reader of the repository may open). */
function markdownDocuments(): string[] {
  return globSync('**/*.md', {
    cwd: ROOT,
    exclude: (name) => ['node_modules', 'dist', '.git', '.tools', '.tmp'].includes(name),
  }).sort();
}

/** The document's lines with fenced code blocks blanked (their line numbers kept). */
function proseLines(text: string): string[] {
  let fence: string | undefined;
  return text.split('\n').map((line) => {
    const opening = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === undefined && opening) {
      fence = opening;
      return '';
    }
    if (fence !== undefined) {
      if (line.trim().startsWith(fence)) fence = undefined;
      return '';
    }
    return line;
  });
}

/** Trailing punctuation a sentence may put right after a path inside a code span. */
function trimWord(word: string): string {
  return word.replace(/[,;:.)]+$/, '').replace(/^\(/, '');
}

/** Whether a word starts with a top-level directory and a slash, or is a top-level file. */
function isRootPath(word: string): boolean {
  if (TOP_FILES.includes(word)) return true;
  // With its slash only: a bare `test` is as often a command's word (`npm test`).
  return TOP_DIRECTORIES.some((dir) => word.startsWith(`${dir}/`));
}

/**
 * Whether a code span of a document below the root names a path relative to the document's
 * folder: one word whose first segment is `..` or an existing sub-folder of that folder.
 */
function isLocalPath(span: string, folder: string): boolean {
  if (folder === '.' || /\s/.test(span) || !span.includes('/')) return false;
  const first = span.split('/')[0] ?? '';
  if (first === '..') return true;
  return /^[\w.-]+$/.test(first) && first !== '.' && existsSync(join(ROOT, folder, first, '/'));
}

/**
 * The paths a document's text names, with where.
 * @param text - the markdown
 * @param document - its path from the repository's root (relative paths resolve from its folder)
 */
function extract(text: string, document: string): NamedPath[] {
  const folder = dirname(document);
  const prose = proseLines(text).join('\n');
  const lineAt = (offset: number): number => prose.slice(0, offset).split('\n').length;
  const found: NamedPath[] = [];
  const add = (offset: number, written: string, path: string, fragment?: string): void => {
    found.push({ document, line: lineAt(offset), written, path: normalize(path), fragment });
  };
  // Markdown links (not URLs).
  for (const match of prose.matchAll(/\]\(([^()\s]+)\)/g)) {
    const target = match[1] ?? '';
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
    const [file = '', fragment] = target.split('#');
    if (file === '') {
      // An anchor of the document itself.
      add(match.index, target, document, fragment);
      continue;
    }
    if (notAPath(file)) continue;
    add(match.index, target, join(folder, decodeURIComponent(file)), fragment);
  }
  // Inline code spans; one may continue on the next line, never past a blank line.
  for (const match of prose.matchAll(/(`+)((?:(?!\n\s*\n)[^`])+?)\1(?!`)/g)) {
    const span = (match[2] ?? '').trim();
    if (!isRootPath(span) && isLocalPath(span, folder) && !notAPath(span)) {
      add(match.index, span, join(folder, span));
      continue;
    }
    for (const word of pathWords(span)) {
      if (isRootPath(word) && !notAPath(word)) add(match.index, word, word);
    }
  }
  return found;
}

/**
 * The words of a code span that may be paths. In a kubectl command only the arguments of
 * `-f`/`-k` (`--filename`, `--kustomize`) are files: its other words name API objects, and
 * `deploy/<name>` there is a Deployment, not the folder deploy/.
 */
function pathWords(span: string): string[] {
  const words = span.split(/\s+/).map(trimWord);
  if (words[0] !== 'kubectl') return words;
  return words.flatMap((word, i) => {
    const inline = /^--(filename|kustomize)=(.+)$/.exec(word)?.[2];
    if (inline !== undefined) return [inline];
    const flag = words[i - 1] ?? '';
    return ['-f', '-k', '--filename', '--kustomize'].includes(flag) ? [word] : [];
  });
}

/** The paths one document of the repository names. */
function namedPaths(document: string): NamedPath[] {
  return extract(readFileSync(join(ROOT, document), 'utf8'), document);
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The heading anchors of a markdown file. */
function anchorsOf(path: string): Set<string> {
  const anchors = new Set<string>();
  for (const line of proseLines(readFileSync(join(ROOT, path), 'utf8'))) {
    const heading = /^#{1,6}\s+(.*)$/.exec(line)?.[1];
    if (heading !== undefined) anchors.add(headingAnchor(heading));
  }
  return anchors;
}

/** What is wrong with a named path, or undefined. */
function problem(named: NamedPath): string | undefined {
  const where = `${named.document}:${named.line}: \`${named.written}\``;
  if (relative(ROOT, join(ROOT, named.path)).startsWith('..')) {
    return `${where} points outside the repository`;
  }
  if (!existsSync(join(ROOT, named.path))) return `${where}: ${named.path} does not exist`;
  if (named.fragment && named.path.endsWith('.md')) {
    if (!anchorsOf(named.path).has(named.fragment)) {
      return `${where}: ${named.path} has no heading with the anchor #${named.fragment}`;
    }
  }
  return undefined;
}

test('every path the documentation names exists', () => {
  const documents = markdownDocuments();
  for (const expected of ['README.md', 'deploy/README.md', 'docs/architecture.md']) {
    assert.ok(documents.includes(expected), `${expected} is read`);
  }
  const named = documents.flatMap(namedPaths);
  // The extraction works: the README names many paths (a broken pattern would find none).
  assert.ok(
    named.filter((n) => n.document === 'README.md').length > 50,
    'the README names more than 50 paths',
  );
  const problems = named.map(problem).filter((p): p is string => p !== undefined);
  assert.deepEqual(problems, [], `missing paths:\n${problems.join('\n')}`);
});

test('the extraction finds links, code spans, commands, local names, and skips what is no path', () => {
  const text = [
    'See [the design](docs/architecture.md#layering), [below](#tests), [a site](https://example.com).',
    'Run `kubectl apply -k deploy/namespace-access -n team-a`; read `shared/api/`.',
    'Then `kubectl rollout status deploy/supabase-reconciler`, `kubectl apply',
    '--filename=deploy/crd/`.',
    'Not paths: `dist/cli.mjs`, `functions/<name>/index.ts`, `shared/**/*.test.ts`, `npm test`.',
    '```',
    'deploy/inside-a-fence.yaml',
    '```',
    'Local: `base/config.yaml`, `handler.ts`, `supabase.strrl.dev`, `nowhere/x.ts`.',
  ].join('\n');
  const words = (document: string) =>
    extract(text, document).map((n) => `${n.path}${n.fragment ? `#${n.fragment}` : ''}`);
  assert.deepEqual(words('README.md'), [
    'docs/architecture.md#layering',
    'README.md#tests',
    'deploy/namespace-access',
    'shared/api/',
    'deploy/crd/',
  ]);
  assert.deepEqual(words('deploy/README.md').slice(-1), ['deploy/base/config.yaml']);
  const at = { document: 'README.md', line: 1, written: '' };
  assert.match(
    problem({ ...at, path: 'deploy/knative/' }) ?? '',
    /deploy\/knative\/ does not exist/,
  );
  assert.match(
    problem({ ...at, path: 'docs/architecture.md', fragment: 'no-such-heading' }) ?? '',
    /has no heading with the anchor #no-such-heading/,
  );
  assert.equal(problem({ ...at, path: 'docs/architecture.md', fragment: 'layering' }), undefined);
  assert.match(problem({ ...at, path: '../outside' }) ?? '', /outside the repository/);
  assert.equal(headingAnchor('The `SupabaseProject` API'), 'the-supabaseproject-api');
  assert.equal(
    headingAnchor('Status: fields and who writes them'),
    'status-fields-and-who-writes-them',
  );
  assert.equal(
    headingAnchor('Moving from STRRL/supabase-operator'),
    'moving-from-strrlsupabase-operator',
  );
});
