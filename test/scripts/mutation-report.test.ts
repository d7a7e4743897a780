/** scripts/mutation-report.ts: Stryker's JSON report to the score table and survivor list of docs/testing.md. */
import {
  analyse,
  analyseRecord,
  fileResults,
  markdown,
  sha256,
  standingResults,
  survivorKey,
} from '../../scripts/mutation-report';

const source = ['export const a = (x: number) => x > 1;', 'export const b = 2 + 3;'].join('\n');
const at = (line: number, from: number, to: number) => ({
  start: { line, column: from },
  end: { line, column: to },
});
const report = {
  files: {
    'lambda/core/x.ts': {
      source,
      mutants: [
        {
          id: '1',
          mutatorName: 'EqualityOperator',
          replacement: 'x >= 1',
          location: at(1, 33, 38),
          status: 'Survived' as const,
        },
        {
          id: '2',
          mutatorName: 'ArithmeticOperator',
          replacement: '2 - 3',
          location: at(2, 18, 23),
          status: 'Killed' as const,
        },
        {
          id: '3',
          mutatorName: 'BooleanLiteral',
          replacement: 'true',
          location: at(1, 33, 38),
          status: 'Timeout' as const,
        },
        {
          id: '4',
          mutatorName: 'StringLiteral',
          replacement: '""',
          location: at(2, 18, 19),
          status: 'CompileError' as const,
        },
      ],
    },
    'lambda/adapters/y.ts': {
      source,
      mutants: [
        {
          id: '5',
          mutatorName: 'ArithmeticOperator',
          replacement: '2 - 3',
          location: at(2, 18, 23),
          status: 'NoCoverage' as const,
        },
      ],
    },
  },
};

describe('mutation report', () => {
  it('scores lambda/core and the adapters apart, as Stryker does (compile errors left out)', () => {
    const { scopes } = analyse(report);
    const byName = Object.fromEntries(scopes.map((s) => [s.name, s]));
    expect(byName['lambda/core']).toMatchObject({ total: 3, killed: 2, survived: 1 });
    expect(byName['lambda/core']!.score).toBeCloseTo(2 / 3);
    expect(byName['decision-critical adapters']).toMatchObject({
      total: 1,
      killed: 0,
      survived: 1,
      score: 0,
    });
    expect(byName.all).toMatchObject({ total: 4, killed: 2 });
    expect(scopes[0]!.name).toBe('lambda/core');
  });

  it('lists each survivor with its original text, and its reason or UNEXPLAINED', () => {
    const { scopes, survivors } = analyse(report);
    expect(survivors.map((s) => [s.file, s.line, s.original, s.replacement, s.status])).toEqual([
      ['lambda/adapters/y.ts', 2, '2 + 3', '2 - 3', 'NoCoverage'],
      ['lambda/core/x.ts', 1, 'x > 1', 'x >= 1', 'Survived'],
    ]);
    const key = survivorKey('lambda/core/x.ts', 'EqualityOperator', 'x > 1', 'x >= 1');
    expect(survivors[1]!.key).toBe(key);
    const table = markdown(scopes, survivors, { [key]: 'x is never 1 here' });
    expect(table).toContain(
      '| `lambda/core/x.ts:1` | EqualityOperator | `x > 1` → `x >= 1` | x is never 1 here |',
    );
    expect(table).toContain(
      '| `lambda/adapters/y.ts:2` | ArithmeticOperator (no test reaches it) | `2 + 3` → `2 - 3` | **UNEXPLAINED** |',
    );
    expect(table).toContain('| **lambda/core** | 3 | 2 | 1 | 66.7% |');
  });
});

describe('a sampled mutation run (scripts/stryker-sample.mjs)', () => {
  const outside = (id: string) => ({
    id,
    mutatorName: 'StringLiteral',
    replacement: '""',
    location: at(2, 18, 19),
    status: 'Ignored' as const,
    statusReason: 'outside the sample (0.2 of mutants, seed 7)',
  });
  const sampled = {
    files: {
      'lambda/core/x.ts': {
        source,
        mutants: [...report.files['lambda/core/x.ts'].mutants, outside('6'), outside('7')],
      },
    },
  };

  it('names the sample and gives each score its 95% interval', () => {
    const { scopes, survivors, sample } = analyse(sampled);
    expect(sample).toEqual({ fraction: 0.2, seed: '7', outside: 2 });
    const core = scopes.find((s) => s.name === 'lambda/core')!;
    expect(core).toMatchObject({ total: 3, killed: 2 });
    // Wilson interval of 2 of 3 at 95%, computed by hand: 0.2077 to 0.9385.
    expect(core.interval![0]).toBeCloseTo(0.2077, 3);
    expect(core.interval![1]).toBeCloseTo(0.9385, 3);
    const table = markdown(scopes, survivors, {}, sample);
    expect(table).toContain('fraction 0.2, seed 7');
    expect(table).toContain('3 mutants tested, 2 left out');
    expect(table).toContain('| 66.7% | 20.8%-93.9% |');
  });

  it('gives no interval to a whole run', () => {
    const { scopes, sample } = analyse(report);
    expect(sample).toBeUndefined();
    expect(scopes.every((s) => s.interval === undefined)).toBe(true);
  });
});

describe("the whole run's committed record (docs/mutation-whole-run.json)", () => {
  it('keeps each file its counts, survivors and the text they were measured on', () => {
    const record = fileResults(report);
    expect(record['lambda/core/x.ts']).toEqual({
      sourceSha256: sha256(source),
      killed: 2,
      survived: 1,
      survivors: [
        {
          line: 1,
          mutator: 'EqualityOperator',
          original: 'x > 1',
          replacement: 'x >= 1',
          status: 'Survived',
        },
      ],
    });
    expect(record['lambda/adapters/y.ts']).toMatchObject({ killed: 0, survived: 1 });
  });

  it('scores the record as the report it came from', () => {
    // Through JSON, as the record is read back from docs/.
    const record = JSON.parse(JSON.stringify(fileResults(report))) as ReturnType<typeof fileResults>;
    expect(analyseRecord(record)).toEqual({
      scopes: analyse(report).scopes,
      survivors: analyse(report).survivors,
    });
  });

  it("holds a file's result only while the file is the text it was measured on", () => {
    const record = fileResults(report);
    const now: Record<string, string> = { 'lambda/core/x.ts': source, 'lambda/adapters/y.ts': `${source}\n` };
    const { standing, stale } = standingResults(record, (file) => now[file]);
    expect(Object.keys(standing)).toEqual(['lambda/core/x.ts']);
    expect(stale).toEqual(['lambda/adapters/y.ts']);
    // A file gone is stale too.
    expect(standingResults(record, () => undefined).stale).toEqual([
      'lambda/adapters/y.ts',
      'lambda/core/x.ts',
    ]);
  });
});
