/**
 * The replay's HTML report: one self-contained file (uPlot's JS and CSS inlined, no network),
 * with a summary, alerts per day by kind against the false-alert budget, a table of every
 * alert, and per alerted source its counts over time against what the detector compared them
 * with (the expected count and the count from which it would have spiked), alerts marked by
 * severity.
 *
 * Every string from the input (addresses, interface ids, file names) is escaped in the HTML, and
 * the chart data travels as JSON in a non-executable script element with `<` escaped, so a
 * hostile flow log cannot inject markup or script.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Alert, AlertKind } from '../core/detect';
import { causeTimingText, likelyCauseText, noCauseText } from '../core/policy-changes';
import { isoTime } from '../core/windows';
import { alertSources, type ReplayResult } from './replay';
import { describeMalformed, formatDestination, membersText, sourceText } from './text-output';

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

/** The likely-cause cell: the change and its timing, the whole sentence (with who) as its title. */
function causeCell(alert: Alert): string {
  const cause = alert.likelyCause;
  if (cause !== undefined) {
    const minutes = Math.round((Date.parse(alert.windowEnd) - Date.parse(alert.windowStart)) / 60_000);
    const detail = [
      cause.description,
      causeTimingText(cause, minutes),
      ...(cause.explains === undefined
        ? []
        : [`explains ${cause.explains} of ${cause.of ?? cause.explains} sources`]),
      ...(alert.downgradedFrom === undefined ? [] : [`downgraded from ${alert.downgradedFrom}`]),
    ].join('; ');
    return `<td title="${escapeHtml(likelyCauseText(cause, alert))}">${escapeHtml(cause.eventName)} on <span class="mono">${escapeHtml(cause.resource)}</span><br><span class="of">${escapeHtml(detail)}</span></td>`;
  }
  if (alert.causeLookup === undefined) return '<td>-</td>';
  const text = noCauseText(alert.causeLookup);
  return `<td title="${escapeHtml(text)}">${alert.causeLookup.status === 'none' ? 'none found' : 'not known'}</td>`;
}

function alertRow(alert: Alert, spikeAt: number | null, causes: boolean): string {
  const members = alert.members ?? [];
  // Members a cooldown held back are listed again with nothing new (MassSpikeMember.lastAlertedAt).
  const heldBack = members.filter((m) => m.lastAlertedAt !== undefined).length;
  const subject =
    alert.kind === 'mass-spike'
      ? `${members.length} sources${heldBack === 0 ? '' : ` (${heldBack} alerted before, held back by their cooldowns)`}: ${escapeHtml(membersText(members, 8))}`
      : escapeHtml(alert.srcIp === undefined ? '-' : sourceText({ ...alert, srcIp: alert.srcIp }));
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
<td class="n">${alert.blockedCount}</td><td class="n">${spikeAt ?? '-'}</td><td class="n">${alert.uniqueDestinations ?? '-'}</td><td>${baseline}</td>
<td class="n">${fmt(alert.zScore)}</td><td class="n">${alert.tailProbability === undefined ? '-' : alert.tailProbability.toExponential(1)}</td>
<td>${top || '-'}${alert.details && alert.details.totalDestinations > 3 ? `<br><span class="of">of ${alert.details.totalDestinations}</span>` : ''}</td>
<td class="mono">${interfaces || '-'}</td>${causes ? causeCell(alert) : ''}</tr>`;
}

/** Colours shared by the page's legend text and the charts (the browser test reads them back). */
export const REPORT_COLORS = {
  counts: '#1f5fbf',
  expected: '#777777',
  spikeAt: '#2e8b57',
  severity: { high: '#d00000', medium: '#f08c00', low: '#7b3fb5' },
  kinds: { spike: '#d00000', 'new-source': '#7b3fb5', 'mass-spike': '#f08c00' },
} as const;

const DAY_MS = 86_400_000;

/** Alerts per UTC day and kind over the evaluated days (quiet days included, as zeros). */
export function alertsPerDay(
  alerts: readonly Alert[],
  windows: readonly number[],
): { days: number[]; counts: Record<AlertKind, number[]> } {
  const counts: Record<AlertKind, number[]> = { spike: [], 'new-source': [], 'mass-spike': [] };
  if (windows.length === 0) return { days: [], counts };
  const first = Math.floor((windows[0] as number) / DAY_MS) * DAY_MS;
  const last = Math.floor((windows[windows.length - 1] as number) / DAY_MS) * DAY_MS;
  const days: number[] = [];
  for (let day = first; day <= last; day += DAY_MS) days.push(day);
  for (const kind of Object.keys(counts) as AlertKind[]) counts[kind] = days.map(() => 0);
  for (const alert of alerts) {
    const index = Math.floor((Date.parse(alert.windowStart) - first) / DAY_MS);
    const row = counts[alert.kind];
    if (index >= 0 && index < days.length) row[index] = (row[index] as number) + 1;
  }
  return { days, counts };
}

const CHART_SCRIPT = `
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var C = data.colors;
  var width = function (el) { return Math.max(240, Math.min(1100, el.clientWidth || 1100)); };

  // Alerts per day by kind: stacked bars (each drawn as the running total, tallest first).
  var daysRoot = document.getElementById('per-day');
  if (data.perDay.days.length > 0) {
    var kinds = ['spike', 'new-source', 'mass-spike'];
    var totals = [], running = data.perDay.days.map(function () { return 0; });
    kinds.forEach(function (kind) {
      running = running.map(function (sum, i) { return sum + data.perDay.counts[kind][i]; });
      totals.push(running.slice());
    });
    var bars = uPlot.paths.bars({ size: [0.7, 40], align: 1 });
    var daySeries = [{}];
    var dayData = [data.perDay.days.map(function (d) { return d / 1000; })];
    for (var k = kinds.length - 1; k >= 0; k--) {
      (function (kind, stacked) {
        daySeries.push({
          label: kind, stroke: C.kinds[kind], fill: C.kinds[kind], width: 0, paths: bars, points: { show: false },
          value: function (u, v, si, i) { return i === null ? '-' : data.perDay.counts[kind][i]; }
        });
        dayData.push(stacked);
      })(kinds[k], totals[k]);
    }
    if (data.budget !== null) {
      daySeries.push({ label: 'false-alert budget', stroke: '#444', dash: [6, 4], width: 1.5, points: { show: false } });
      dayData.push(data.perDay.days.map(function () { return data.budget; }));
    }
    new uPlot({
      width: width(daysRoot), height: 200,
      scales: { x: { time: true, range: function (u, min, max) { return [min, max + 86400]; } }, y: { range: function (u, min, max) { return [0, Math.max(3, max + 1)]; } } },
      series: daySeries
    }, dayData, daysRoot);
  }

  var root = document.getElementById('charts');
  data.sources.forEach(function (source) {
    var section = document.createElement('section');
    section.className = 'chart';
    section.setAttribute('data-src-ip', source.srcIp);
    section.setAttribute('data-source-key', source.key);
    var title = document.createElement('h3');
    title.textContent = source.label + '  (' + source.alerts.map(function (a) { return a.kind + ', ' + a.severity; }).join('; ') + ')';
    section.appendChild(title);
    root.appendChild(section);
    var at = {};
    source.alerts.forEach(function (a) { at[a.window] = a.severity; });
    var marks = { high: [], medium: [], low: [] };
    for (var i = 0; i < data.windows.length; i++) {
      var severity = at[data.windows[i]];
      ['high', 'medium', 'low'].forEach(function (s) { marks[s].push(s === severity ? source.counts[i] : null); });
    }
    var xs = data.windows.map(function (w) { return w / 1000; });
    // The y axis fits the counts and the usual spike line: a young baseline's line (its first
    // day, corrected for few data points) may run far above and is cut at the top.
    var lines = source.spikeAt.filter(function (v) { return v !== null; }).sort(function (a, b) { return a - b; });
    var usual = lines.length > 0 ? lines[Math.floor(lines.length * 0.9)] : 0;
    // A loop, not Math.max.apply: past some 124,000 windows (a quarter of one-minute windows)
    // the arguments overflow the stack and no chart after this one would draw.
    var most = 0;
    for (var k = 0; k < source.counts.length; k++) if (source.counts[k] > most) most = source.counts[k];
    var yMax = Math.max(3, most, usual) * 1.1;
    var point = function (color) {
      return { stroke: color, fill: color, width: 0, paths: function () { return null; }, points: { show: true, size: 11, fill: color, stroke: color } };
    };
    var step = uPlot.paths.stepped({ align: 1 });
    var markers = ['high', 'medium', 'low'].map(function (s) {
      var series = point(C.severity[s]);
      series.label = 'alert: ' + s;
      return series;
    });
    new uPlot({
      width: width(root), height: 240,
      scales: { x: { time: true }, y: { range: [0, yMax] } },
      series: [
        {},
        { label: 'blocked records', stroke: C.counts, width: 1.5 },
        { label: 'expected', stroke: C.expected, dash: [4, 4], width: 1, paths: step },
        { label: 'spikes from', stroke: C.spikeAt, width: 1.5, paths: step }
      ].concat(markers)
    }, [xs, source.counts, source.mean, source.spikeAt, marks.high, marks.medium, marks.low], section);
  });
})();
`;

/**
 * The report minus its generation time: equal for equal inputs, options and code, whenever and
 * wherever it is rendered (the screenshot in docs/ records it to show which report it is of).
 */
export function reportFingerprint(html: string): string {
  return createHash('sha256')
    .update(html.replace(/<time id="generated">[^<]*<\/time>/, '<time id="generated"></time>'))
    .digest('hex');
}

export function renderReport(result: ReplayResult, meta: ReportMeta): string {
  const { js, css } = loadUplot();
  const s = result.summary;
  const config = result.config;
  const series = result.series ?? { windows: [], incomplete: [], sources: [], alertSpikeAt: [] };
  const alertsAt = new Map<string, { window: number; kind: AlertKind; severity: string }[]>();
  for (const alert of result.alerts) {
    for (const key of alertSources(alert)) {
      const list = alertsAt.get(key) ?? [];
      list.push({ window: Date.parse(alert.windowStart), kind: alert.kind, severity: alert.severity });
      alertsAt.set(key, list);
    }
  }
  const recommended = config.preset === 'recommended';
  const data = {
    colors: REPORT_COLORS,
    budget: recommended ? config.falseAlertBudgetPerDay : null,
    windows: series.windows,
    perDay: alertsPerDay(result.alerts, series.windows),
    sources: series.sources.map((source) => ({ ...source, alerts: alertsAt.get(source.key) ?? [] })),
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
    [
      'blocked egress counted',
      `${s.recordsCounted} records from ${s.sources} internal sources${s.accounts > 0 ? ` in ${s.accounts} account${s.accounts === 1 ? '' : 's'}` : ''}`,
    ],
    [
      'alerts',
      `${s.alerts}: ${s.alertsByKind.spike} spike, ${s.alertsByKind['new-source']} new-source, ${s.alertsByKind['mass-spike']} mass-spike`,
    ],
  ];
  const causes = s.cloudTrail !== undefined;
  if (s.cloudTrail !== undefined) {
    summaryRows.push([
      'cloudtrail',
      `${s.cloudTrail.files} files, ${s.cloudTrail.records} events, ${s.cloudTrail.changes} egress-policy changes` +
        (s.changeCauses === undefined
          ? ''
          : `; likely causes: ${s.changeCauses.found} found, ${s.changeCauses.none} none, ${s.changeCauses.unavailable} not known`),
    ]);
  }
  if (recommended)
    summaryRows.push([
      'false-alert budget',
      `${config.falseAlertBudgetPerDay} a day (falseAlertBudgetPerDay)`,
    ]);
  const charted = series.sources.length;
  const allCharted = new Set(result.alerts.flatMap(alertSources)).size;
  const spikeRule = recommended
    ? "the calibrated threshold: the smallest count whose tail probability, corrected for the baseline being an estimate, is below the window's threshold, at least minBlockedCount and above the expected count"
    : `the smallest count above mean' + ${config.deviationThreshold} sd', the baseline with that count folded in, as ESCU compares`;
  const swatch = (color: string) => `<span class="swatch" style="background:${color}"></span>`;
  // Only the report's own two scripts may run, and nothing is fetched: should a value from a
  // flow log ever slip past escapeHtml, the browser still would not run it.
  const scriptHash = (script: string) => `'sha256-${createHash('sha256').update(script).digest('base64')}'`;
  const policy = `default-src 'none'; script-src ${scriptHash(js)} ${scriptHash(CHART_SCRIPT)}; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${policy}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Blocked egress replay report</title>
<style>${css}</style>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1200px; }
h1 { font-size: 22px; margin: 0 0 12px; } h2 { font-size: 17px; margin: 28px 0 8px; } h3 { font-size: 14px; margin: 16px 0 4px; font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
table { border-collapse: collapse; } td, th { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.high td:nth-child(3) { color: #b00; font-weight: 600; } tr.medium td:nth-child(3) { color: #b60; } tr.low td:nth-child(3) { color: #555; }
.summary td:first-child { color: #555; } .summary td { overflow-wrap: anywhere; } .scroll { overflow-x: auto; } table.alerts { font-size: 13px; } .nowrap { white-space: nowrap; } .mono { font: 12px ui-monospace, monospace; }
table.alerts td:nth-child(11) { font: 12px ui-monospace, monospace; white-space: nowrap; } .note { color: #555; font-size: 13px; } .of { color: #666; }
ul.malformed code { overflow-wrap: anywhere; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin: 0 3px 0 6px; vertical-align: baseline; }
@media (max-width: 640px) { body { margin: 12px; } }
</style>
</head>
<body>
<h1>Blocked egress replay report</h1>
<p class="note">On this page: <a href="#alerts-per-day">alerts per day</a> · <a href="#alerts">alerts (${result.alerts.length.toLocaleString('en-US')})</a>${result.malformedExamples.length > 0 ? ' · <a href="#malformed">malformed lines</a>' : ''} · <a href="#over-time">alerted sources over time</a></p>
<table class="summary">${summaryRows.map(([k, v]) => `<tr><td>${escapeHtml(k)}</td><td>${escapeHtml(v)}</td></tr>`).join('')}</table>
<h2 id="alerts-per-day">Alerts per day</h2>
<p class="note">By kind:${swatch(REPORT_COLORS.kinds.spike)}spike${swatch(REPORT_COLORS.kinds['new-source'])}new-source${swatch(REPORT_COLORS.kinds['mass-spike'])}mass-spike${recommended ? `; the dashed line is the false-alert budget (${config.falseAlertBudgetPerDay} a day): on ordinary days the false alerts average about that many. Lower it for fewer alerts (and only larger spikes), raise it to catch smaller ones` : ''}.</p>
<div id="per-day"></div>
<h2 id="alerts">Alerts</h2>
${
  result.alerts.length === 0
    ? '<p>No alerts.</p>'
    : `<div class="scroll"><table class="alerts"><tr><th>window (UTC)</th><th>kind</th><th>severity</th><th>source</th><th>blocked</th><th title="the smallest count that would have been a spike for this source in this window">spikes from</th><th>unique dests</th><th>baseline mean ± sd</th><th>z</th><th>p</th><th>top destinations</th><th>interfaces</th>${causes ? '<th title="the egress-policy change in CloudTrail that most likely explains the alert">likely cause</th>' : ''}</tr>
${result.alerts.map((alert, i) => alertRow(alert, series.alertSpikeAt[i] ?? null, causes)).join('\n')}</table></div>`
}
${
  result.malformedExamples.length > 0
    ? `<h2 id="malformed">Malformed lines</h2><ul class="malformed">${result.malformedExamples.map((e) => `<li><code>${escapeHtml(describeMalformed(e))}</code></li>`).join('')}</ul>`
    : ''
}
<h2 id="over-time">Alerted sources over time</h2>
<p class="note">Blocked egress records per window${swatch(REPORT_COLORS.counts)}against what the detector compared them with: the expected count${swatch(REPORT_COLORS.expected)}and the count from which this source would have spiked in that window${swatch(REPORT_COLORS.spikeAt)}(${escapeHtml(spikeRule)}; none while its baseline is young). Cooldowns and mass-spike grouping decide whether a spike alerts on its own. Alerts by severity:${swatch(REPORT_COLORS.severity.high)}high${swatch(REPORT_COLORS.severity.medium)}medium${swatch(REPORT_COLORS.severity.low)}low.${charted < allCharted ? ` Showing the first ${charted} of ${allCharted} alerted sources.` : ''} Generated <time id="generated">${escapeHtml(isoTime(Date.now()))}</time>.</p>
<div id="charts"></div>
<noscript><p>The charts need JavaScript; the tables above do not.</p></noscript>
<script type="application/json" id="report-data">${jsonForScript(data)}</script>
<script>${js}</script>
<script>${CHART_SCRIPT}</script>
</body>
</html>
`;
}
