/** scripts/stryker-test-sequencer.js: which suites a mutant's test name pattern can run. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { suitesFor, testIdsOf } = require('../../scripts/stryker-test-sequencer.js') as {
  suitesFor: (pattern: string, index: Record<string, string[]>, found: string[]) => Set<string> | undefined;
  testIdsOf: (pattern: string) => string[] | undefined;
};

// The pattern as Stryker's Jest runner builds it (jest-test-runner.js mutantRun, with
// @stryker-mutator/util's escapeRegExp, an ES module Jest cannot load here).
const escapeRegExp = (input: string): string => input.replace(/[.*+\-?^${}()|[\]\\]/g, '\\$&');
const patternOf = (ids: string[]): string => ids.map((id) => `(${escapeRegExp(id)})`).join('|');

const index: Record<string, string[]> = {
  'test/core/a.test.ts': ['windows aligns a start', 'windows (edge) | 1.5 * x', 'back\\slash [x]'],
  'test/core/b.test.ts': ['Windows aligns a start to the hour', 'detect flags a spike'],
  'test/core/c.test.ts': ['config refuses a bad zone'],
};
const suites = Object.keys(index);

describe('stryker test sequencer', () => {
  it("reads back every test id of Stryker's pattern, special characters included", () => {
    const ids = ['windows (edge) | 1.5 * x', 'back\\slash [x]', 'a)|(b', 'plain'];
    expect(testIdsOf(patternOf(ids))).toEqual(ids);
    expect(testIdsOf('no parentheses')).toBeUndefined();
  });

  it('keeps every suite in which Jest would run a test: unanchored and case-insensitive', () => {
    // "windows aligns a start" also matches b's "Windows aligns a start to the hour".
    expect(suitesFor(patternOf(['windows aligns a start']), index, suites)).toEqual(
      new Set(['test/core/a.test.ts', 'test/core/b.test.ts']),
    );
    expect(suitesFor(patternOf(['config refuses a bad zone', 'back\\slash [x]']), index, suites)).toEqual(
      new Set(['test/core/a.test.ts', 'test/core/c.test.ts']),
    );
    expect(suitesFor(patternOf(['detect flags a spike']), index, suites)).toEqual(
      new Set(['test/core/b.test.ts']),
    );
  });

  it('runs every suite when the index may be wrong', () => {
    // A test id the index does not hold (added or renamed since it was written).
    expect(suitesFor(patternOf(['detect flags a spike', 'a new test']), index, suites)).toBeUndefined();
    // A suite Jest found that the index does not know.
    expect(
      suitesFor(patternOf(['detect flags a spike']), index, [...suites, 'test/core/d.test.ts']),
    ).toBeUndefined();
    // Not the shape of Stryker's pattern.
    expect(suitesFor('detect', index, suites)).toBeUndefined();
  });
});
