import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveDetectorConfig } from '../../lambda/core';
import {
  alertsPerDay,
  escapeHtml,
  jsonForScript,
  renderReport,
  reportFingerprint,
} from '../../lambda/replay/html-report';
import { runReplay } from '../../lambda/replay/replay';

describe('HTML report', () => {
  it('escapes markup and keeps script-breaking sequences out of embedded JSON', () => {
    expect(escapeHtml(`<a href="x" onclick='y'>&`)).toBe(
      '&#60;a href=&#34;x&#34; onclick=&#39;y&#39;&#62;&#38;',
    );
    const json = jsonForScript({ text: '</script><!-- \u2028' });
    expect(json).not.toMatch(/<|>|\u2028/);
    expect(JSON.parse(json)).toEqual({ text: '</script><!-- \u2028' });
  });

  it('charts each alerted source with its counts, expected count and spike line, from data embedded in the page', async () => {
    // Prepare: two days of a steady source, then a burst; and a new host.
    const dir = await fs.mkdtemp(join(tmpdir(), 'report-test-'));
    try {
      const t0 = Date.UTC(2026, 9, 1) / 1000;
      const rows: string[] = [];
      for (let hour = 0; hour < 48; hour += 1) {
        const n = hour === 40 ? 90 : 3 + (hour % 3);
        for (let i = 0; i < n; i += 1)
          rows.push(
            `2 1 eni-1 10.0.0.5 203.0.113.${i % 50} 40000 443 6 1 60 ${t0 + hour * 3600 + i} ${t0 + hour * 3600 + i + 9} REJECT OK`,
          );
      }
      for (let i = 0; i < 120; i += 1)
        rows.push(
          `2 1 eni-2 10.0.0.6 198.51.100.${i % 90} 40000 443 6 1 60 ${t0 + 30 * 3600 + i} ${t0 + 30 * 3600 + i + 9} REJECT OK`,
        );
      const path = join(dir, 'flows.log');
      await fs.writeFile(path, rows.join('\n'));
      const result = await runReplay({
        inputs: [path],
        config: resolveDetectorConfig({}),
        collectSeries: true,
      });
      // Act
      const html = renderReport(result, { inputs: [path] });
      // Assess
      expect(result.alerts.map((a) => [a.kind, a.srcIp])).toEqual([
        ['new-source', '10.0.0.6'],
        ['spike', '10.0.0.5'],
      ]);
      const data = JSON.parse(
        /<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html)?.[1] ?? 'null',
      ) as {
        budget: number | null;
        windows: number[];
        perDay: { days: number[]; counts: Record<string, number[]> };
        sources: {
          srcIp: string;
          counts: number[];
          mean: (number | null)[];
          spikeAt: (number | null)[];
          alerts: { window: number; kind: string; severity: string }[];
        }[];
      };
      expect(data.budget).toBe(1);
      expect(data.windows).toHaveLength(48);
      expect(data.sources.map((s) => s.srcIp)).toEqual(['10.0.0.6', '10.0.0.5']);
      const steady = data.sources[1]!;
      expect(steady.counts[40]).toBe(90);
      const spike = result.alerts.find((a) => a.kind === 'spike')!;
      expect(steady.alerts).toEqual([
        { window: (t0 + 40 * 3600) * 1000, kind: 'spike', severity: spike.severity },
      ]);
      expect(steady.mean[40]).toBeCloseTo(spike.baseline?.mean ?? NaN, 3);
      // The line the detector compared with: a spike at 90, a few records above the usual 3-5.
      expect(steady.spikeAt[40]).toBeGreaterThan(5);
      expect(steady.spikeAt[40]).toBeLessThanOrEqual(90);
      // Alerts per day: the new source on day 1 (hour 30), the spike on day 1 (hour 40).
      expect(data.perDay.days).toEqual([t0 * 1000, t0 * 1000 + 86_400_000]);
      expect(data.perDay.counts).toEqual({ spike: [0, 1], 'new-source': [0, 1], 'mass-spike': [0, 0] });
      expect(html).toContain(`<td class="n">90</td><td class="n">${steady.spikeAt[40]}</td>`);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('counts alerts per UTC day and kind, quiet days included', () => {
    const day = 86_400_000;
    const t0 = Date.UTC(2026, 9, 1);
    const alert = (kind: 'spike' | 'new-source' | 'mass-spike', at: number) =>
      ({ kind, windowStart: new Date(at).toISOString() }) as Parameters<typeof alertsPerDay>[0][number];
    const windows = Array.from({ length: 72 }, (_, h) => t0 + h * 3_600_000);
    expect(
      alertsPerDay(
        [
          alert('spike', t0 + 5 * 3_600_000),
          alert('spike', t0 + 2 * day),
          alert('mass-spike', t0 + 2 * day + 1),
        ],
        windows,
      ),
    ).toEqual({
      days: [t0, t0 + day, t0 + 2 * day],
      counts: { spike: [1, 0, 1], 'new-source': [0, 0, 0], 'mass-spike': [0, 0, 1] },
    });
  });

  it('fingerprints a report without its generation time', () => {
    const page = (time: string, body: string) =>
      `<p>${body} Generated <time id="generated">${time}</time>.</p>`;
    expect(reportFingerprint(page('2026-01-01T00:00:00Z', 'a'))).toBe(
      reportFingerprint(page('2027-06-30T12:00:00Z', 'a')),
    );
    expect(reportFingerprint(page('2026-01-01T00:00:00Z', 'a'))).not.toBe(
      reportFingerprint(page('2026-01-01T00:00:00Z', 'b')),
    );
  });
});
