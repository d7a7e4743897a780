import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveDetectorConfig } from '../../lambda/core';
import { escapeHtml, jsonForScript, renderReport } from '../../lambda/replay/html-report';
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

  it('charts each alerted source with its counts and baseline band, from data embedded in the page', async () => {
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
        k: number;
        windows: number[];
        sources: { srcIp: string; counts: number[]; mean: (number | null)[]; alerts: number[] }[];
      };
      expect(data.k).toBe(3);
      expect(data.windows).toHaveLength(48);
      expect(data.sources.map((s) => s.srcIp)).toEqual(['10.0.0.6', '10.0.0.5']);
      const steady = data.sources[1];
      expect(steady?.counts[40]).toBe(90);
      expect(steady?.alerts).toEqual([(t0 + 40 * 3600) * 1000]);
      expect(steady?.mean[40]).toBeCloseTo(4, 0);
      expect(html).toContain('<td class="n">90</td>');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
