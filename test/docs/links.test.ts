/**
 * Every relative link in README.md and docs/*.md resolves inside the repository: the file (or
 * folder) exists, is not git-ignored (so a fresh clone has it), and a `#anchor` names a heading of
 * the target page. Links to other sites are not followed (no network here).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { anchors, links } from './markdown';

const ROOT = resolve(__dirname, '..', '..');

const pages = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

/** Paths (relative to the root) that git ignores; git must be there, as in CI's clone. */
function ignoredByGit(paths: readonly string[]): Set<string> {
  if (paths.length === 0) return new Set();
  try {
    const out = execFileSync('git', ['check-ignore', '--', ...paths], { cwd: ROOT, encoding: 'utf8' });
    return new Set(out.split('\n').filter((line) => line.length > 0));
  } catch (error) {
    const failed = error as { status?: number; stdout?: string };
    if (failed.status === 1) return new Set(); // none ignored
    throw error;
  }
}

interface Problem {
  page: string;
  line: number;
  target: string;
  problem: string;
}

/** The broken relative links of the given pages (all pages' targets checked in one git call). */
function brokenLinks(root: string, pagePaths: readonly string[]): Problem[] {
  const problems: Problem[] = [];
  const checkedFiles: { page: string; line: number; target: string; path: string }[] = [];
  const anchorCache = new Map<string, Set<string>>();
  const anchorsOf = (path: string): Set<string> => {
    let known = anchorCache.get(path);
    if (!known) anchorCache.set(path, (known = anchors(readFileSync(path, 'utf8'))));
    return known;
  };
  for (const page of pagePaths) {
    const pagePath = join(root, page);
    for (const { target, line } of links(readFileSync(pagePath, 'utf8'))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) continue; // another site
      const [pathPart = '', anchor] = target.split('#', 2);
      const decoded = decodeURIComponent(pathPart);
      const path =
        decoded === ''
          ? pagePath
          : decoded.startsWith('/')
            ? join(root, decoded)
            : resolve(dirname(pagePath), decoded);
      const inside = relative(root, path);
      if (inside.startsWith('..') || inside.startsWith(sep) || resolve(root, inside) !== path) {
        problems.push({ page, line, target, problem: 'points outside the repository' });
        continue;
      }
      if (!existsSync(path)) {
        problems.push({ page, line, target, problem: 'no such file' });
        continue;
      }
      if (inside !== '') checkedFiles.push({ page, line, target, path: inside });
      if (anchor !== undefined && anchor !== '') {
        if (!path.endsWith('.md') || statSync(path).isDirectory()) {
          problems.push({ page, line, target, problem: 'an anchor into a file that is not a Markdown page' });
        } else if (!anchorsOf(path).has(anchor)) {
          problems.push({ page, line, target, problem: `no heading with anchor #${anchor}` });
        }
      }
    }
  }
  const ignored = ignoredByGit([...new Set(checkedFiles.map((f) => f.path))]);
  for (const file of checkedFiles) {
    if (ignored.has(file.path))
      problems.push({
        page: file.page,
        line: file.line,
        target: file.target,
        problem: 'git-ignored: not in a clone',
      });
  }
  return problems;
}

describe('documentation links', () => {
  it('has the pages a reader is sent to', () => {
    expect(pages).toEqual(
      expect.arrayContaining([
        'README.md',
        'docs/design.md',
        'docs/operations.md',
        'docs/configuration.md',
        'docs/performance.md',
        'docs/replay.md',
      ]),
    );
  });

  it.each(pages)('%s: every relative link resolves inside the repository', (page) => {
    expect(brokenLinks(ROOT, [page])).toEqual([]);
  });

  it('catches a missing file, a missing anchor, a git-ignored file and a path outside the repository', () => {
    // The checker itself, on a page written for it (kept in the repository's test folder).
    const problems = brokenLinks(ROOT, ['test/docs/fixtures/broken-links.md']);
    expect(problems.map((p) => [p.target, p.problem])).toEqual([
      ['../../../../shared/DESIGN.md', 'points outside the repository'],
      ['../../../docs/no-such-page.md', 'no such file'],
      ['../../../docs/design.md#no-such-heading', 'no heading with anchor #no-such-heading'],
      ['#a-missing-heading', 'no heading with anchor #a-missing-heading'],
      ['../../../package.json#scripts', 'an anchor into a file that is not a Markdown page'],
      ['../../../node_modules/uplot/package.json', 'git-ignored: not in a clone'],
    ]);
  });
});

describe('README as a front page', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n');

  it('is at most 300 lines', () => {
    expect(readme.length).toBeLessThanOrEqual(300);
  });

  it('gives both commands in its first 25 lines', () => {
    const top = readme.slice(0, 25).join('\n');
    expect(top).toContain('npm ci && npm start');
    expect(top).toContain('npm test');
  });
});
