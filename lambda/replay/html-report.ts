/**
 * The replay's HTML report: one self-contained file (uPlot's JS and CSS inlined, no network),
 * with a summary, a table of every alert, and per alerted source its counts over time against
 * the baseline band (mean ± k sd), alert points marked.
 *
 * Every string from the input (addresses, interface ids, file names) is escaped in the HTML, and
 * the chart data travels as JSON in a non-executable script element with `<` escaped, so a
 * hostile flow log cannot inject markup or script.
 */
import { readFileSync } from 'node:fs';
import type { Alert } from '../core/detect';
import { isoTime } from '../core/windows';
import { alertSources, type ReplayResult } from './replay';
import { describeMalformed, formatDestination } from './text-output';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON safe inside a <script> element: no `</script>`, no `<!--`, no line separators. */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

let uplotAssets: { js: string; css: string } | undefined;
function loadUplot(): { js: string; css: string } {
  uplotAssets ??= {
    js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  };
  return uplotAssets;
}

export interface ReportMeta {
  inputs: readonly string[];
}

const fmt = (n: number | null | undefined, digits = 1): string =>
  n === null || n === undefined ? '-' : n.toFixed(digits);

function alertRow(alert: Alert): string {
  const sources = alertSources(alert);
  const subject =
    alert.kind === 'mass-spike'
      ? `${sources.length} sources: ${sources.slice(0, 8).map(escapeHtml).join(', ')}${sources.length > 8 ? ', ...' : ''}`
      : escapeHtml(alert.srcIp ?? '-');
  const baseline = alert.baseline
    ? `${fmt(alert.baseline.mean)} ± ${fmt(alert.baseline.sd)} (n=${alert.baseline.dataPoints})`
    : '-';
  const top = (alert.details?.topDestinations ?? [])
    .slice(0, 3)
    .map((d) => `${escapeHtml(formatDestination(d))} ×${d.count}`)
    .join('<br>');
  const interfaces = (alert.details?.interfaceIds ?? []).slice(0, 4).map(escapeHtml).join('<br>');
  return `<tr class="${escapeHtml(alert.severity)}">
<td class="nowrap">${escapeHtml(alert.windowStart.replace('T', ' ').replace(/:00Z$/, ''))}${alert.incompleteWindow ? ' <span title="SKIPDATA: counts are a lower bound">*</span>' : ''}</td>
<td>${escapeHtml(alert.kind)}</td><td>${escapeHtml(alert.severity)}</td><td>${subject}</td>
<td class="n">${alert.blockedCount}</td><td class="n">${alert.uniqueDestinations ?? '-'}</td><td>${baseline}</td>
<td class="n">${fmt(alert.zScore)}</td><td class="n">${alert.tailProbability === undefined ? '-' : alert.tailProbability.toExponential(1)}</td>
<td>${top || '-'}${alert.details && alert.details.totalDestinations > 3 ? `<br><small>of ${alert.details.totalDestinations}</small>` : ''}</td>
<td class="mono">${interfaces || '-'}</td></tr>`;
}

const CHART_SCRIPT = `
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var root = document.getElementById('charts');
  data.sources.forEach(function (source) {
    var section = document.createElement('section');
    section.className = 'chart';
    var title = document.createElement('h3');
    title.textContent = source.srcIp + '  (' + source.alerts.length + ' alert' + (source.alerts.length === 1 ? '' : 's') + ')';
    section.appendChild(title);
    root.appendChild(section);
    var alerted = {};
    source.alerts.forEach(function (w) { alerted[w] = true; });
    var upper = [], lower = [], marks = [];
    for (var i = 0; i < data.windows.length; i++) {
      var m = source.mean[i], sd = source.sd[i];
      upper.push(m === null ? null : m + data.k * sd);
      lower.push(m === null ? null : Math.max(0, m - data.k * sd));
      marks.push(alerted[data.windows[i]] ? source.counts[i] : null);
    }
    var xs = data.windows.map(function (w) { return w / 1000; });
    new uPlot({
      width: Math.min(1100, root.clientWidth || 1100),
      height: 240,
      scales: { x: { time: true } },
      series: [
        {},
        { label: 'blocked records', stroke: '#1f5fbf', width: 1.2 },
        { label: 'baseline mean', stroke: '#666', dash: [4, 4], width: 1 },
        { label: 'mean + ' + data.k + ' sd', stroke: 'rgba(230,140,0,0.6)', width: 1 },
        { label: 'mean - ' + data.k + ' sd', stroke: 'rgba(230,140,0,0.6)', width: 1 },
        { label: 'alert', stroke: '#d00', fill: '#d00', width: 0, paths: function () { return null; }, points: { show: true, size: 11, fill: '#d00', stroke: '#d00' } }
      ],
      bands: [{ series: [3, 4], fill: 'rgba(230,140,0,0.15)' }]
    }, [xs, source.counts, source.mean, upper, lower, marks], section);
  });
})();
`;

export function renderReport(result: ReplayResult, meta: ReportMeta): string {
  const { js, css } = loadUplot();
  const s = result.summary;
  const series = result.series ?? { windows: [], incomplete: [], sources: [] };
  const alertWindows = new Map<string, number[]>();
  for (const alert of result.alerts) {
    for (const srcIp of alertSources(alert)) {
      const list = alertWindows.get(srcIp) ?? [];
      list.push(Date.parse(alert.windowStart));
      alertWindows.set(srcIp, list);
    }
  }
  const data = {
    k: result.config.deviationThreshold,
    windows: series.windows,
    sources: series.sources.map((source) => ({ ...source, alerts: alertWindows.get(source.srcIp) ?? [] })),
  };
  const summaryRows: [string, string][] = [
    ['preset', s.preset],
    ['input', meta.inputs.join(', ')],
    [
      'windows',
      s.windows > 0
        ? `${s.windows} from ${s.firstWindow} to ${s.lastWindow} (${s.bootstrapWindows} bootstrap, ${s.incompleteWindows} incomplete)`
        : 'none',
    ],
    [
      'lines read',
      `${s.linesRead} (${s.headerLines} header, ${s.blankLines} blank, ${s.malformedLines} malformed)`,
    ],
    [
      'records',
      `${s.okRecords} OK, ${s.rejectRecords} REJECT, ${s.noDataRecords} NODATA, ${s.skipDataRecords} SKIPDATA`,
    ],
    ['blocked egress counted', `${s.recordsCounted} records from ${s.sources} internal sources`],
    [
      'alerts',
      `${s.alerts}: ${s.alertsByKind.spike} spike, ${s.alertsByKind['new-source']} new-source, ${s.alertsByKind['mass-spike']} mass-spike`,
    ],
  ];
  const charted = series.sources.length;
  const allCharted = new Set(result.alerts.flatMap(alertSources)).size;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Blocked egress replay report</title>
<style>${css}</style>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1200px; }
h1 { font-size: 22px; margin: 0 0 12px; } h2 { font-size: 17px; margin: 28px 0 8px; } h3 { font-size: 14px; margin: 16px 0 4px; font-family: ui-monospace, monospace; }
table { border-collapse: collapse; } td, th { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.high td:nth-child(3) { color: #b00; font-weight: 600; } tr.medium td:nth-child(3) { color: #b60; } tr.low td:nth-child(3) { color: #555; }
.summary td:first-child { color: #555; } .scroll { overflow-x: auto; } table.alerts { font-size: 13px; } .nowrap { white-space: nowrap; } .mono { font: 12px ui-monospace, monospace; }
table.alerts td:nth-child(10) { font: 12px ui-monospace, monospace; white-space: nowrap; } .note { color: #666; font-size: 13px; }
</style>
</head>
<body>
<h1>Blocked egress replay report</h1>
<table class="summary">${summaryRows.map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(v)}</td></tr>`).join('')}</table>
<h2>Alerts</h2>
${
  result.alerts.length === 0
    ? '<p>No alerts.</p>'
    : `<div class="scroll"><table class="alerts"><tr><th>window (UTC)</th><th>kind</th><th>severity</th><th>source</th><th>blocked</th><th>unique dests</th><th>baseline mean ± sd</th><th>z</th><th>p</th><th>top destinations</th><th>interfaces</th></tr>
${result.alerts.map(alertRow).join('\n')}</table></div>`
}
${
  result.malformedExamples.length > 0
    ? `<h2>Malformed lines</h2><ul>${result.malformedExamples.map((e) => `<li><code>${escapeHtml(describeMalformed(e))}</code></li>`).join('')}</ul>`
    : ''
}
<h2>Alerted sources over time</h2>
<p class="note">Blocked egress records per window against the baseline the detector compared with (band: mean ± ${result.config.deviationThreshold} sd; gaps where the source had no records). Red points: alerts.${charted < allCharted ? ` Showing the first ${charted} of ${allCharted} alerted sources.` : ''} Generated ${escapeHtml(isoTime(Date.now()))}.</p>
<div id="charts"></div>
<noscript><p>The charts need JavaScript; the tables above do not.</p></noscript>
<script type="application/json" id="report-data">${jsonForScript(data)}</script>
<script>${js}</script>
<script>${CHART_SCRIPT}</script>
</body>
</html>
`;
}
