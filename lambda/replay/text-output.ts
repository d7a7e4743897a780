/**
 * What the replay prints: NDJSON (one object per alert, then a summary object) for machines, an
 * aligned table and a summary for people.
 */
import type { Alert, MassSpikeMember } from '../core/detect';
import { likelyCauseText, noCauseText } from '../core/policy-changes';
import type { MalformedExample } from './flow-line-scanner';
import type { ReplayResult } from './replay';

/** One alert per line, then `{"kind":"summary",...}`. */
export function toNdjson(result: ReplayResult): string {
  const lines = result.alerts.map((alert) => JSON.stringify(alert));
  lines.push(JSON.stringify({ ...result.summary, malformedExamples: result.malformedExamples }));
  return `${lines.join('\n')}\n`;
}

type SourceNaming = Pick<MassSpikeMember, 'srcIp' | 'accountId' | 'accountName' | 'vpcId'>;

/** `payments-prod (111111111111)`, the id alone without a name; undefined: no account. */
export function accountText(source: Pick<SourceNaming, 'accountId' | 'accountName'>): string | undefined {
  if (source.accountId === undefined) return undefined;
  return source.accountName === undefined ? source.accountId : `${source.accountName} (${source.accountId})`;
}

/** `10.0.0.10 in payments-prod (111111111111)`: a source as alerts name it. */
export function sourceText(source: SourceNaming): string {
  const account = accountText(source);
  if (account === undefined)
    return source.vpcId === undefined ? source.srcIp : `${source.srcIp} in ${source.vpcId}`;
  return `${source.srcIp} in ${account}${source.vpcId === undefined ? '' : ` ${source.vpcId}`}`;
}

/** `in 111111111111` when every member is in that one account (and VPC); undefined otherwise. */
export function sharedPlace(members: readonly SourceNaming[]): string | undefined {
  const first = members[0];
  if (first === undefined || first.accountId === undefined) return undefined;
  if (!members.every((m) => m.accountId === first.accountId && m.vpcId === first.vpcId)) return undefined;
  return sourceText({ ...first, srcIp: '' }).trim();
}

/**
 * A mass spike's first `shown` members for people: `10.0.1.5, 10.0.1.6 in 111111111111` when
 * they share one account, else each with its own.
 */
export function membersText(members: readonly SourceNaming[], shown: number): string {
  const place = sharedPlace(members);
  const more = members.length > shown ? ', ...' : '';
  if (place === undefined) return members.slice(0, shown).map(sourceText).join(', ') + more;
  return `${members
    .slice(0, shown)
    .map((m) => m.srcIp)
    .join(', ')}${more} ${place}`;
}

const PROTOCOLS: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6' };

export function formatDestination(d: {
  address: string;
  port: number | null;
  protocol: number | null;
}): string {
  const address = d.address.includes(':') ? `[${d.address}]` : d.address;
  const protocol = d.protocol === null ? '' : `/${PROTOCOLS[d.protocol] ?? d.protocol}`;
  return `${address}${d.port === null ? '' : `:${d.port}`}${protocol}`;
}

const number = (n: number): string => n.toLocaleString('en-US');
const short = (n: number | null | undefined, digits = 1): string =>
  n === null || n === undefined ? '-' : n.toFixed(digits);
const probability = (p: number | undefined): string =>
  p === undefined ? '-' : p === 0 ? '<1e-300' : p.toExponential(1);
const windowLabel = (iso: string): string => iso.replace('T', ' ').replace(/:00Z$/, '');

function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function alertRow(alert: Alert): string[] {
  const baseline = alert.baseline
    ? `${short(alert.baseline.mean)} ± ${short(alert.baseline.sd)} (n=${alert.baseline.dataPoints})`
    : '-';
  const subject =
    alert.kind === 'mass-spike'
      ? `${alert.members?.length ?? alert.srcIps?.length ?? 0} sources`
      : alert.srcIp === undefined
        ? '-'
        : sourceText({ ...alert, srcIp: alert.srcIp });
  const top = alert.details?.topDestinations[0];
  const topText = top ? `${formatDestination(top)} x${top.count}` : '-';
  return [
    windowLabel(alert.windowStart) + (alert.incompleteWindow ? '*' : ''),
    alert.kind,
    alert.severity,
    subject,
    number(alert.blockedCount),
    baseline,
    short(alert.zScore),
    probability(alert.tailProbability),
    alert.uniqueDestinations === null ? '-' : number(alert.uniqueDestinations),
    topText,
  ];
}

export interface HumanOutputExtras {
  inputs: readonly string[];
  reportPath?: string;
  statePath?: string;
}

export function toHumanText(result: ReplayResult, extras: HumanOutputExtras): string {
  const s = result.summary;
  const out: string[] = [];
  const mb = (s.bytes / 1_048_576).toFixed(1);
  const empty =
    (s.filesWithoutRecords > 0 ? `, ${number(s.filesWithoutRecords)} with no records` : '') +
    (s.filesNamedTwice > 0
      ? `, ${number(s.filesNamedTwice)} named by more than one input and read once`
      : '') +
    (s.filesInOtherRegions !== undefined && s.filesInOtherRegions > 0
      ? `, ${number(s.filesInOtherRegions)} of other Regions left out`
      : '');
  out.push(
    `Replayed ${s.files} file${s.files === 1 ? '' : 's'} (${mb} MB${empty}) with preset ${s.preset}: ` +
      (s.windows > 0
        ? `${number(s.windows)} windows from ${s.firstWindow} to ${s.lastWindow}`
        : 'no windows'),
  );
  out.push('');
  if (result.alerts.length === 0) {
    out.push('No alerts.');
  } else {
    out.push(`Alerts (${result.alerts.length}):`);
    const header = [
      'window (UTC)',
      'kind',
      'severity',
      'source',
      'blocked',
      'baseline mean ± sd',
      'z',
      'p',
      'dests',
      'top destination',
    ];
    out.push(table([header, ...result.alerts.map(alertRow)]));
    for (const alert of result.alerts.filter((a) => a.kind === 'mass-spike')) {
      const members = alert.members ?? [];
      const place = sharedPlace(members);
      // A member a cooldown held back says when it was alerted: it is listed again, not new.
      const each = (m: MassSpikeMember) =>
        `${place === undefined ? sourceText(m) : m.srcIp} (${m.blockedCount}${m.lastAlertedAt === undefined ? '' : `, alerted ${windowLabel(m.lastAlertedAt)}`})`;
      const shown =
        members.slice(0, 12).map(each).join(', ') +
        (members.length > 12 ? `, and ${members.length - 12} more` : '') +
        (place === undefined ? '' : `, all ${place}`);
      out.push(`  mass spike ${windowLabel(alert.windowStart)}: ${shown}`);
    }
    if (result.alerts.some((a) => a.incompleteWindow))
      out.push('  * window with SKIPDATA records: its counts are a lower bound');
    const explained = result.alerts.filter((a) => a.causeLookup !== undefined);
    if (explained.length > 0) {
      out.push('');
      out.push('Likely causes (CloudTrail):');
      for (const alert of explained) out.push(`  ${causeLine(alert)}`);
    }
  }
  out.push('');
  out.push('Summary:');
  const k = s.alertsByKind;
  const rows: [string, string][] = [
    [
      'lines read',
      `${number(s.linesRead)} (${number(s.headerLines)} header, ${number(s.blankLines)} blank, ${number(s.malformedLines)} malformed)` +
        (s.headersInOtherFormat > 0
          ? `; ${number(s.headersInOtherFormat)} file format${s.headersInOtherFormat === 1 ? '' : 's'} (header line or Parquet columns) not the configured one: read by their own fields here, by the configured format in the Lambda`
          : ''),
    ],
    [
      'records',
      `${number(s.okRecords)} OK, ${number(s.rejectRecords)} REJECT, ${number(s.noDataRecords)} NODATA, ${number(s.skipDataRecords)} SKIPDATA`,
    ],
    [
      'blocked egress counted',
      `${number(s.recordsCounted)} records from ${number(s.sources)} internal sources` +
        (s.accounts > 0 ? ` in ${number(s.accounts)} account${s.accounts === 1 ? '' : 's'}` : ''),
    ],
    [
      'windows',
      `${number(s.windows)} (${number(s.bootstrapWindows)} bootstrap, ${number(s.detectedWindows)} detected, ` +
        `${number(s.incompleteWindows)} incomplete${s.windowsSkipped > 0 ? `, ${number(s.windowsSkipped)} skipped: already in the state file` : ''})` +
        (s.firstWindowLearnOnly
          ? '; the first only learned baselines, as a new detector does (no state yet, and no --bootstrap-days)'
          : ''),
    ],
    [
      'alerts',
      `${number(s.alerts)} (${number(k.spike)} spike, ${number(k['new-source'])} new-source, ${number(k['mass-spike'])} mass-spike); ` +
        `${number(s.spikes)} spiking source-windows, ${number(s.spikesSuppressedByCooldown)} held back by cooldowns`,
    ],
    ...(s.cloudTrail === undefined
      ? []
      : ([
          [
            'cloudtrail',
            `${number(s.cloudTrail.files)} file${s.cloudTrail.files === 1 ? '' : 's'}${s.cloudTrail.digestFiles > 0 ? ` (${number(s.cloudTrail.digestFiles)} digest files skipped)` : ''}, ` +
              `${number(s.cloudTrail.records)} events${s.cloudTrail.firstEvent === null ? '' : ` from ${s.cloudTrail.firstEvent} to ${s.cloudTrail.lastEvent}`}, ` +
              `${number(s.cloudTrail.changes)} egress-policy changes; ${s.cloudTrail.interfaceMaps === 0 ? 'no interface map (only the interfaces the records name relate changes)' : `${number(s.cloudTrail.interfaceMaps)} interface map file${s.cloudTrail.interfaceMaps === 1 ? '' : 's'}`}`,
          ],
          [
            'likely causes',
            s.changeCauses === undefined
              ? 'not looked up (policyChangeSpikes is off)'
              : `${number(s.changeCauses.found)} found, ${number(s.changeCauses.none)} none, ${number(s.changeCauses.unavailable)} not known`,
          ],
        ] as [string, string][])),
    [
      'baselines',
      `${number(s.baselines)} sources${extras.statePath ? `, saved to ${extras.statePath}` : ''}`,
    ],
    ['time', `${(s.elapsedMs / 1000).toFixed(2)} s`],
  ];
  for (const [label, value] of rows) out.push(`  ${label.padEnd(24)}${value}`);
  if (result.malformedExamples.length > 0) {
    out.push('');
    out.push(`Malformed lines (first ${result.malformedExamples.length}):`);
    for (const example of result.malformedExamples) out.push(`  ${describeMalformed(example)}`);
  }
  if (extras.reportPath) {
    out.push('');
    out.push(`HTML report written to ${extras.reportPath}`);
  }
  return `${out.join('\n')}\n`;
}

/** `2026-10-17 15:00  mass spike  CreateNetworkAclEntry on acl-... (...) by ... at 14:52 UTC, ...`. */
export function causeLine(alert: Alert): string {
  const subject = alert.kind === 'mass-spike' ? 'mass spike' : (alert.srcIp ?? '-');
  const text =
    alert.likelyCause !== undefined
      ? likelyCauseText(alert.likelyCause, alert) +
        (alert.downgradedFrom ? ` (downgraded from ${alert.downgradedFrom})` : '')
      : alert.causeLookup !== undefined
        ? noCauseText(alert.causeLookup)
        : '-';
  return `${windowLabel(alert.windowStart)}  ${subject}: ${text}`;
}

export function describeMalformed(example: MalformedExample): string {
  // The text comes from the input file: show control characters escaped, never raw.
  const text = JSON.stringify(example.text.length > 120 ? `${example.text.slice(0, 120)}...` : example.text);
  return `${example.file} @ byte ${example.offset}: ${example.reason}: ${text}`;
}
