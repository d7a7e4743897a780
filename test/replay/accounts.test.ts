/**
 * Issue 14 in the replay: a source is an address within its account. Two accounts' flow logs
 * with the same address plan give two series; the alert, the text output, the HTML report and
 * the state file name the account; a mass spike of one account's hosts names it once.
 */
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveDetectorConfig } from '../../lambda/core';
import { renderReport } from '../../lambda/replay/html-report';
import { MemoryBaselineStore } from '../../lambda/replay/memory-store';
import { runReplay } from '../../lambda/replay/replay';
import { membersText, toHumanText } from '../../lambda/replay/text-output';
import { massSpikeAlert } from '../support/change-cause-fixtures';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 9, 1);
const A = '111111111111';
const B = '222222222222';

/** `count` blocked records from `src` in `account` in the hour starting at `hourMs`. */
const blocked = (account: string, src: string, hourMs: number, count: number, dst = '203.0.113'): string[] =>
  Array.from({ length: count }, (_, i) => {
    const start = Math.floor(hourMs / 1000) + (i % 3500);
    return `2 ${account} eni-0${account.slice(0, 4)} ${src} ${dst}.${(i % 5) + 1} 40000 443 6 1 60 ${start} ${start + 30} REJECT OK`;
  });

let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'replay-accounts-'));
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('replay with two accounts that use the same addresses', () => {
  it("alerts B's 10.0.0.10 alone, naming B, and says so in the summary, the text, the report and the state", async () => {
    // Prepare: two days in which A's 10.0.0.10 sends ~150 blocked records an hour and B's ~10;
    // in the last hour B's sends 150 (A's as usual). Merged by address, B's burst would vanish
    // in A's volume.
    const lines: string[] = [];
    for (let h = 0; h < 49; h += 1) {
      lines.push(...blocked(A, '10.0.0.10', T0 + h * HOUR, 148 + (h % 5), '198.51.100'));
      lines.push(...blocked(B, '10.0.0.10', T0 + h * HOUR, h === 48 ? 150 : 8 + (h % 5)));
    }
    const path = join(dir, 'two-accounts.log');
    await fs.writeFile(path, lines.join('\n'));
    const config = resolveDetectorConfig({ accountNames: { [B]: 'payments-prod' } });
    const statePath = join(dir, 'state.json');

    // Act
    const result = await runReplay({ inputs: [path], config, bootstrapDays: 2, collectSeries: true });
    await result.store.save(statePath, config);

    // Assess
    expect(result.summary).toMatchObject({ sources: 2, accounts: 2, baselines: 2 });
    expect(result.alerts).toHaveLength(1);
    expect(result.alerts[0]).toMatchObject({
      kind: 'spike',
      srcIp: '10.0.0.10',
      accountId: B,
      accountName: 'payments-prod',
      blockedCount: 150,
      alertId: `${new Date(T0 + 48 * HOUR).toISOString().replace('.000Z', 'Z')}/${B}|10.0.0.10`,
    });
    // B's details only: B's destinations, none of A's.
    expect(result.alerts[0]!.details!.topDestinations.every((d) => d.address.startsWith('203.0.113.'))).toBe(
      true,
    );
    const text = toHumanText(result, { inputs: [path] });
    expect(text).toContain('10.0.0.10 in payments-prod (222222222222)');
    expect(text).toContain('from 2 internal sources in 2 accounts');
    // Counts in the thousands are written alike inside the parentheses (a splunk-escu replay's 1,545).
    const many = {
      ...result,
      summary: {
        ...result.summary,
        alerts: 1545,
        alertsByKind: { spike: 1500, 'new-source': 1044, 'mass-spike': 1 },
      },
    };
    expect(toHumanText(many, { inputs: [path] })).toContain(
      '1,545 (1,500 spike, 1,044 new-source, 1 mass-spike)',
    );
    // A mass spike's member a cooldown held back says when it was alerted: listed again, not new.
    const mass = massSpikeAlert(['10.0.1.1', '10.0.1.2']);
    mass.members![1]!.lastAlertedAt = '2026-11-27T14:00:00Z';
    expect(toHumanText({ ...result, alerts: [mass] }, { inputs: [path] })).toContain(
      ': 10.0.1.1 (200), 10.0.1.2 (200, alerted 2026-11-27 14:00)',
    );
    expect(renderReport({ ...result, alerts: [mass] }, { inputs: [path] })).toContain(
      '<td>2 sources (1 alerted before, held back by their cooldowns): 10.0.1.1, 10.0.1.2</td>',
    );
    const html = renderReport(result, { inputs: [path] });
    expect(html).toContain('<td>10.0.0.10 in payments-prod (222222222222)</td>');
    expect(html).toContain('2 internal sources in 2 accounts');
    expect(result.series?.sources.map((s) => [s.key, s.label])).toEqual([
      [`${B}|10.0.0.10`, '10.0.0.10 in payments-prod (222222222222)'],
    ]);
    // The state file keeps both series under their keys, and loads back.
    const saved = JSON.parse(await fs.readFile(statePath, 'utf8')) as {
      sourceKeys: string;
      baselines: Record<string, { mean: number }>;
    };
    expect(saved.sourceKeys).toBe('account|address');
    expect(Object.keys(saved.baselines)).toEqual([`${A}|10.0.0.10`, `${B}|10.0.0.10`]);
    expect(saved.baselines[`${A}|10.0.0.10`]!.mean).toBeGreaterThan(140);
    const loaded = await MemoryBaselineStore.load(statePath, config);
    expect([...loaded.baselines.keys()]).toEqual([`${A}|10.0.0.10`, `${B}|10.0.0.10`]);
  });

  it("names a mass spike's account once when its members share it, and each member's otherwise", () => {
    const inA = ['10.0.1.1', '10.0.1.2', '10.0.1.3'].map((srcIp) => ({ srcIp, accountId: A }));
    expect(membersText(inA, 2)).toBe('10.0.1.1, 10.0.1.2, ... in 111111111111');
    expect(
      membersText([...inA.slice(0, 1), { srcIp: '10.0.1.1', accountId: B, accountName: 'pay' }], 8),
    ).toBe('10.0.1.1 in 111111111111, 10.0.1.1 in pay (222222222222)');
    expect(membersText([{ srcIp: '10.0.1.1', accountId: undefined }], 8)).toBe('10.0.1.1');
  });
});
