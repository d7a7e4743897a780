/**
 * How an alert reads in each place it lands: one SNS `MessageStructure: json` message carries the
 * AWS Chatbot custom notification (Slack) under `default` and `https`, a plain-text email under
 * `email`, and the raw alert JSON under `sqs` and `lambda`. Everything here is pure so the exact
 * text can be unit-tested and pasted into the README.
 *
 * Untrusted text (EC2 Name tags, anything the query returned) is escaped for Slack markdown; the
 * subject has no control characters and stays under 100 characters; the whole message, attributes
 * included, stays under SNS's 256 KB by cutting long lists and saying so, never by dropping totals.
 */
import {
  alertIdFor,
  DEFAULT_FLOW_LOG_FORMAT,
  insightsFieldName,
  isAccountId,
  isValidAddress,
  isVpcId,
  isoTime,
  likelyCauseText,
  noCauseText,
  parseFlowLogFormat,
  type Alert,
  type DetectorConfig,
  type MassSpikeMember,
} from '../core';
import { parseCommandFor } from './logs-insights-query';
import { consoleOrigin } from '../core/console-url';

/** SNS's limit on one message, attributes included. */
export const SNS_MAX_MESSAGE_BYTES = 262_144;
/** Room kept for the subject, the request envelope and rounding. */
const SIZE_MARGIN_BYTES = 2_048;
/** SNS: subject under 100 characters. */
export const MAX_SUBJECT_LENGTH = 99;
/** Lines of a list shown in Slack (long lists are unreadable in a channel; the email and JSON carry more). */
const CHAT_LIST_LIMIT = 10;
/** Members put into the `srcIp` String.Array attribute of a mass-spike (filter policies match any element). */
const MAX_ATTRIBUTE_IPS = 100;

export interface AlertFormatContext {
  /** Region of the flow log groups, for the console link. */
  region: string;
  logGroupIdentifiers: readonly string[];
  /** The detector's custom flow log format (field names), if any: the console query must parse it. */
  flowLogFormat?: string;
  /** A test alert: marked TEST in subject, title and text. */
  test?: boolean;
  /** The flow logs are counted by Athena: the link opens the Athena query editor on the workgroup. */
  athena?: { workGroup: string };
}

/** What a list was cut to, to fit SNS's message limit. */
export interface Truncation {
  shown: number;
  total: number;
}

/** The alert as published: the engine's alert plus the console link and any cuts made. */
export type PublishedAlert = Alert & {
  /** A mass spike cut for size: the distinct accounts of all its members (at most 100). */
  memberAccounts?: string[];
  consoleUrl: string;
  /** The detector's Region (alerts of several Regions may share one topic). */
  region: string;
  test?: true;
  truncated?: Record<string, Truncation>;
};

export interface ChatbotNotification {
  version: '1.0';
  source: 'custom';
  id: string;
  content: {
    textType: 'client-markdown';
    title: string;
    description: string;
    nextSteps: string[];
    keywords: string[];
  };
  metadata: {
    threadId?: string;
    summary: string;
    eventType: string;
    additionalContext: Record<string, string>;
  };
}

export interface SnsMessageAttribute {
  DataType: 'String' | 'String.Array';
  StringValue: string;
}

/**
 * What a subscription filter policy can match: `severity`, `kind`, `srcIp` (the address; a mass
 * spike's members as String.Array), `region` (the detector's: several Regions may share one
 * topic), `accountId` (String; String.Array of a mass spike's accounts; absent when the records
 * name no account), `accountSrcIp` (`<account>|<address>`, `-` for no account: one host, which
 * two separate arrays cannot pair in a mass spike), and `policyChange` (`downgraded`) on an alert that
 * `policyChangeSpikes: "downgrade"` lowered, so a filter policy can route it elsewhere.
 */
export type SnsAlertAttributes = Record<'severity' | 'kind' | 'srcIp' | 'region', SnsMessageAttribute> & {
  accountId?: SnsMessageAttribute;
  accountSrcIp?: SnsMessageAttribute;
  policyChange?: SnsMessageAttribute;
};

export interface SnsAlertMessage {
  subject: string;
  /** The `MessageStructure: json` body. */
  message: string;
  attributes: SnsAlertAttributes;
  /** Bytes SNS counts: message plus attribute names, types and values. */
  bytes: number;
  alert: PublishedAlert;
}

export class AlertTooLargeError extends Error {
  constructor(
    readonly alertId: string,
    readonly bytes: number,
  ) {
    super(
      `alert ${alertId} is ${bytes} bytes even with every list cut; SNS accepts ${SNS_MAX_MESSAGE_BYTES}`,
    );
    this.name = 'AlertTooLargeError';
  }
}

// ---------------------------------------------------------------------------------------------
// Escaping

const SLACK_LOOKALIKES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  // Slack has no escape character for its formatting marks: swap them for full-width lookalikes
  // so a hostile Name tag cannot bold, strike or code-format the rest of the message.
  '*': '\uFF0A',
  _: '\uFF3F',
  '~': '\uFF5E',
  '`': '\uFF40',
};

/**
 * A host name or URL (dotted labels, the last one with a letter: `evil.example`, `evil.рф`, not
 * an IPv4 address or a number; the ideographic and full-width dots a URL parser reads as `.`
 * too), or a URL's `://`: Slack turns both into links in a bot's message even without `<...>`
 * (mrkdwn text is not verbatim by default). A match starts only where a label starts (the
 * lookbehind), so a long hostile tag costs linear time, not quadratic.
 */
const LINKABLE =
  /(?<![\p{L}\p{N}-])[\p{L}\p{N}-]+(?:[.\u3002\uFF0E\uFF61][\p{L}\p{N}-]+)*[.\u3002\uFF0E\uFF61][\p{L}\p{N}-]*\p{L}[\p{L}\p{N}-]*|:\/\//gu;
const DOTS = /[.\u3002\uFF0E\uFF61]/g;
/** ONE DOT LEADER and DIVISION SLASH: read as `.` and `/`, never parsed as a link. */
const DOT_LOOKALIKE = '\u2024';
const SLASH_LOOKALIKE = '\u2215';

/**
 * Text from outside with no link in it for Slack or a mail client to make: the dots of host names
 * and the slashes of `://` become lookalikes (an EC2 Name tag `reset at evil.example/login` must
 * not become a link in an alert); IPv4 and IPv6 addresses, ids and numbers keep theirs, to be copied.
 */
export function withoutLinks(text: string): string {
  return text.replace(LINKABLE, (link) =>
    link === '://' ? `:${SLASH_LOOKALIKE}${SLASH_LOOKALIKE}` : link.replace(DOTS, DOT_LOOKALIKE),
  );
}

/**
 * Makes untrusted text inert in Slack markdown: `&`, `<`, `>` become entities (no `<...>` links,
 * no `<!channel>` mentions, no block quotes), formatting marks become lookalikes, so do host
 * names and URLs (withoutLinks: Slack links bare ones too) and `@` (no `@here` mention, however
 * Chatbot posts the text); control characters and line breaks become spaces.
 */
export function escapeSlackText(text: string): string {
  return withoutLinks(
    stripControlCharacters(text).replace(/[&<>*_~`]/g, (c) => SLACK_LOOKALIKES[c] ?? c),
  ).replaceAll('@', '\uFF20');
}

/** Every string of a value (keys too) without control characters; numbers and the rest as they are. */
function withoutControlCharacters<T>(value: T): T {
  if (typeof value === 'string') return stripControlCharacters(value) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => withoutControlCharacters(item)) as T;
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        stripControlCharacters(key),
        withoutControlCharacters(item),
      ]),
    ) as T;
  return value;
}

/**
 * Control characters, line and paragraph separators, and the bidirectional marks, embeddings,
 * overrides and isolates: an EC2 Name tag with U+202E would otherwise make a line read
 * differently from its characters ("Trojan Source").
 */
function stripControlCharacters(text: string): string {
  return text.replace(/[\p{Cc}\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]+/gu, ' ');
}

// ---------------------------------------------------------------------------------------------
// Console link

/**
 * The CloudWatch console's Logs Insights deep link. The console keeps the query in the fragment as
 * a JSURL-like object (`~(key~'value~...)`) whose strings are percent-encoded with `*` for `%`,
 * then escaped, prefixed with `?queryDetail=`, percent-encoded again with `$` for `%`.
 */
export function logsInsightsConsoleUrl(options: {
  region: string;
  logGroupIdentifiers: readonly string[];
  start: number;
  end: number;
  query: string;
}): string {
  const str = (value: string) => `'${consoleEncode(value)}`;
  const detail =
    `~(end~${str(new Date(options.end).toISOString())}~start~${str(new Date(options.start).toISOString())}` +
    `~timeType~'ABSOLUTE~tz~'UTC~editorString~${str(options.query)}` +
    `~source~(${options.logGroupIdentifiers.map((g) => `~${str(g)}`).join('')}))`;
  const escaped = detail.replace(/[~()']/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const fragment = encodeURIComponent(`?queryDetail=${escaped}`).replace(/%/g, '$');
  const region = encodeURIComponent(options.region);
  return `${consoleOrigin(options.region)}/cloudwatch/home?region=${region}#logsV2:logs-insights${fragment}`;
}

/** The Athena console's query editor on the detector's workgroup (it takes no query in its link). */
export function athenaConsoleUrl(region: string, workGroup: string): string {
  const r = encodeURIComponent(region);
  return `${consoleOrigin(region)}/athena/home?region=${r}#/query-editor?workgroup=${encodeURIComponent(workGroup)}`;
}

/** The most log groups the console's Logs Insights page selects for one query. */
export const MAX_CONSOLE_LOG_GROUPS = 50;

/**
 * The log groups for an alert's console link: all of them up to 50; beyond that, those of the
 * alert's account (the account in a log group ARN) first, in order.
 */
export function consoleLogGroupsFor(groups: readonly string[], accountId?: string): string[] {
  if (groups.length <= MAX_CONSOLE_LOG_GROUPS) return [...groups];
  const own = (group: string) => accountId !== undefined && group.split(':')[4] === accountId;
  return [...groups.filter(own), ...groups.filter((g) => !own(g))].slice(0, MAX_CONSOLE_LOG_GROUPS);
}

/** Every byte outside [A-Za-z0-9-._] as `*XX` (UTF-8), the console's inner encoding. */
function consoleEncode(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9._-]/.test(c) ? c : `*${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * The query behind the console link: the alerted sources' blocked records in the window, by
 * destination. Only validated addresses go into it; anything else is left out of the filter.
 */
export function consoleQueryFor(
  alert: Pick<Alert, 'srcIp' | 'srcIps' | 'accountId' | 'vpcId'>,
  flowLogFormat?: string,
): string {
  // Parsed from @message as the detector's queries are (parseCommandFor).
  const fields = flowLogFormat === undefined ? DEFAULT_FLOW_LOG_FORMAT : parseFlowLogFormat(flowLogFormat);
  const name = (
    field:
      'srcaddr' | 'dstaddr' | 'dstport' | 'protocol' | 'action' | 'interface-id' | 'account-id' | 'vpc-id',
  ) => (fields.includes(field) ? insightsFieldName(field) : undefined);
  const lines: string[] = [parseCommandFor(fields)];
  const sources = (alert.srcIp !== undefined ? [alert.srcIp] : (alert.srcIps ?? []).slice(0, 50)).filter(
    isValidAddress,
  );
  const src = insightsFieldName('srcaddr');
  const sourceFilter =
    sources.length === 0
      ? ''
      : sources.length === 1
        ? ` and ${src} = "${sources[0]}"`
        : ` and ${src} in [${sources.map((s) => `"${s}"`).join(', ')}]`;
  // The source's own account and VPC (validated: only what a key may hold goes in).
  const account = name('account-id');
  const vpc = name('vpc-id');
  // A source whose records name no account was counted from those records alone (other
  // accounts' hosts may hold its address): the link shows the same ones.
  const accountFilter =
    alert.srcIp === undefined || account === undefined
      ? ''
      : alert.accountId === undefined
        ? ` and not (${account} like /^[0-9]{12}$/)`
        : isAccountId(alert.accountId)
          ? ` and ${account} in ["${alert.accountId}"]`
          : '';
  const vpcFilter =
    alert.srcIp !== undefined && vpc !== undefined && alert.vpcId !== undefined && isVpcId(alert.vpcId)
      ? ` and ${vpc} in ["${alert.vpcId}"]`
      : '';
  lines.push(`filter ${insightsFieldName('action')} = "REJECT"${sourceFilter}${accountFilter}${vpcFilter}`);
  const by = [
    sources.length > 1 ? account : undefined,
    sources.length > 1 ? src : undefined,
    name('dstaddr'),
    name('dstport'),
    name('protocol'),
    name('interface-id'),
  ].filter((f): f is string => f !== undefined);
  lines.push(`stats count(*) as blocked by ${by.join(', ')}`, 'sort blocked desc', 'limit 200');
  return lines.join('\n| ');
}

// ---------------------------------------------------------------------------------------------
// Text

const PROTOCOLS: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6' };
const protocolName = (protocol: number | null) =>
  protocol === null ? '' : (PROTOCOLS[protocol] ?? `proto ${protocol}`);

function destinationText(d: { address: string; port: number | null; protocol: number | null }): string {
  const protocol = protocolName(d.protocol);
  // IPv6 with a port needs brackets, or the port reads as the address's last group.
  const host = d.port !== null && d.address.includes(':') ? `[${d.address}]` : d.address;
  return `${host}${d.port === null ? '' : `:${d.port}`}${protocol ? `/${protocol}` : ''}`;
}

const KIND_TITLES: Record<Alert['kind'], string> = {
  spike: 'Blocked egress spike',
  'new-source': 'New source with blocked egress',
  'mass-spike': 'Mass blocked-egress spike',
};

/** `payments-prod (111111111111)`, or the id alone without a configured name. */
function accountText(source: Pick<Alert, 'accountId' | 'accountName'>): string | undefined {
  if (source.accountId === undefined) return undefined;
  return source.accountName === undefined ? source.accountId : `${source.accountName} (${source.accountId})`;
}

/**
 * The account as the subject names it: its configured name where that is printable ASCII, else
 * its id. SNS has documented subjects as ASCII text, and an emoji cut at the subject's 99
 * characters would leave half a character that the SDK cannot even encode: the alert would
 * stay pending for good. The message body names the account in full.
 */
function subjectAccount(source: Pick<Alert, 'accountId' | 'accountName'>): string | undefined {
  const name = source.accountName;
  return name !== undefined && /^[\x20-\x7e]+$/.test(name) ? name : source.accountId;
}

/**
 * Who the alert is about: `10.0.1.23 in payments-prod (111111111111)` (`short`: the name alone,
 * for the subject's 100 characters), `6 sources in 2 accounts` for a mass spike.
 */
function subjectOf(alert: StoredAlert, short = false): string {
  if (alert.kind === 'mass-spike') {
    const cut = alert.truncated?.members !== undefined;
    const count = alert.truncated?.members?.total ?? alert.srcIps?.length ?? alert.members?.length ?? 0;
    const named = (alert.members ?? []).filter((m) => m.accountId !== undefined);
    const ids = new Set(named.map((m) => m.accountId));
    // A cut member list may not show every account: it says "at least".
    if (ids.size > 1) return `${count} sources in ${ids.size}${cut ? '+' : ''} accounts`;
    const only = named[0];
    if (only === undefined || cut || named.length < (alert.members?.length ?? 0)) return `${count} sources`;
    return `${count} sources in ${short ? subjectAccount(only) : accountText(only)}`;
  }
  const address = alert.srcIp ?? 'unknown source';
  if (alert.accountId === undefined) return address;
  return `${address} in ${short ? subjectAccount(alert) : accountText(alert)}`;
}

const shortTime = (iso: string) => iso.replace(/:00Z$/, 'Z');

/**
 * `; 2 of them alerted before, held back by their cooldowns` where members of a mass spike were
 * held back by their cooldowns (listed again with nothing new: `lastAlertedAt`), else nothing.
 * Counted over the members `listed`: `of those listed` where the mass spike has more (`total`).
 */
function heldBackNote(listed: readonly MassSpikeMember[], total: number): string {
  const before = listed.filter((m) => m.lastAlertedAt !== undefined).length;
  if (before === 0) return '';
  return `; ${formatNumber(before)} of ${listed.length < total ? 'those listed' : 'them'} alerted before, held back by their cooldowns`;
}
const formatNumber = (value: number) => value.toLocaleString('en-US');
const formatProbability = (value: number) => value.toExponential(2);

/** The SNS subject: `[HIGH] Blocked egress spike: 10.0.1.23 (412 blocked, 2026-11-27T09:00Z)`. */
export function alertSubject(alert: Alert, options: { test?: boolean } = {}): string {
  const raw = `${options.test ? '[TEST] ' : ''}[${alert.severity.toUpperCase()}] ${KIND_TITLES[alert.kind]}: ${subjectOf(alert, true)} (${formatNumber(alert.blockedCount)} blocked, ${shortTime(alert.windowStart)})`;
  // Printable ASCII only (see subjectAccount): what is left of anything else becomes `?`, so the
  // cut below can never split a character.
  const clean = stripControlCharacters(raw)
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[^\x20-\x7e]/gu, '?');
  return clean.length <= MAX_SUBJECT_LENGTH ? clean : `${clean.slice(0, MAX_SUBJECT_LENGTH - 3)}...`;
}

/** `usual at Sun 03:00: 1.2; now 38` (rhythm-aware baselines), the time zone named unless UTC. */
function usualText(alert: Alert): string | undefined {
  const expected = alert.expected;
  if (expected === undefined) return undefined;
  const zone = expected.timezone === 'UTC' ? '' : ` (${expected.timezone})`;
  return `usual at ${expected.at}${zone}: ${expected.usual}; now ${formatNumber(alert.blockedCount)}`;
}

/**
 * `weekly job, Wed 02:00, usually ~140 ± 45; now 410`: a learned job's occurrence grown past its
 * usual size (and the spread of its runs, where it keeps one).
 */
function recurringJobText(alert: Alert): string | undefined {
  const job = alert.recurringJob;
  if (job === undefined) return undefined;
  const zone = job.timezone === 'UTC' ? '' : ` (${job.timezone})`;
  const spread = job.usualSpread === undefined ? '' : ` ± ${formatNumber(job.usualSpread)}`;
  return `${job.period} job, ${job.at}${zone}, usually ~${formatNumber(Math.round(job.usualSize))}${spread}; now ${formatNumber(alert.blockedCount)}`;
}

/** The likely cause, or why none is named; undefined when causes were not looked up. */
function causeText(alert: Alert): string | undefined {
  if (alert.likelyCause !== undefined) {
    const note = alert.causeLookup?.reason === undefined ? '' : ` (${alert.causeLookup.reason})`;
    return `${likelyCauseText(alert.likelyCause, alert)}${note}`;
  }
  return alert.causeLookup === undefined ? undefined : noCauseText(alert.causeLookup);
}

function severityText(alert: Alert): string {
  return alert.downgradedFrom === undefined
    ? alert.severity
    : `${alert.severity} (downgraded from ${alert.downgradedFrom}: an egress-policy change explains it)`;
}

function baselineText(alert: Alert): string {
  if (alert.baseline === null) return alert.kind === 'new-source' ? 'none (first time seen)' : 'n/a';
  return `mean ${alert.baseline.mean}, sd ${alert.baseline.sd} over ${formatNumber(alert.baseline.dataPoints)} windows`;
}

/** The email body: plain text, one fact per line, lists cut to what fits with the totals kept. */
export function formatEmailText(alert: PublishedAlert): string {
  const lines: string[] = [];
  if (alert.test) {
    lines.push(
      '*** TEST ALERT: a sample sent by the "test-alert" mode to check delivery. Nothing was detected. ***',
      '',
    );
  }
  lines.push(
    `${KIND_TITLES[alert.kind]}: ${stripControlCharacters(subjectOf(alert))}`,
    '',
    `Severity:            ${severityText(alert)}`,
    `Kind:                ${alert.kind} (preset ${alert.preset})`,
  );
  const account = accountText(alert);
  if (account !== undefined) lines.push(`Account:             ${stripControlCharacters(account)}`);
  if (alert.vpcId !== undefined) lines.push(`VPC:                 ${stripControlCharacters(alert.vpcId)}`);
  lines.push(
    `Window (UTC):        ${alert.windowStart} to ${alert.windowEnd}`,
    `Blocked records:     ${formatNumber(alert.blockedCount)}`,
  );
  if (alert.uniqueDestinations !== null)
    lines.push(`Unique destinations: ${formatNumber(alert.uniqueDestinations)}`);
  if (alert.kind !== 'mass-spike') lines.push(`Baseline:            ${baselineText(alert)}`);
  const usual = usualText(alert);
  if (usual !== undefined) lines.push(`This hour:           ${usual}`);
  const job = recurringJobText(alert);
  if (job !== undefined) lines.push(`Recurring job:       ${job}`);
  if (alert.zScore !== null) lines.push(`z-score:             ${alert.zScore}`);
  if (alert.tailProbability !== undefined) {
    const threshold =
      alert.threshold === undefined ? '' : ` (spike below ${formatProbability(alert.threshold)})`;
    lines.push(`Tail probability:    ${formatProbability(alert.tailProbability)}${threshold}`);
  }
  if (alert.incompleteWindow) lines.push('Note: the window had SKIPDATA records; counts are a lower bound.');
  const cause = causeText(alert);
  if (cause !== undefined) lines.push(`Likely cause:        ${withoutLinks(stripControlCharacters(cause))}`);
  if (alert.likelyCause?.consoleUrl !== undefined)
    lines.push(`CloudTrail event:    ${alert.likelyCause.consoleUrl}`);

  if (alert.members && alert.members.length > 0) {
    lines.push(
      '',
      `Sources (${cutNote(alert, 'members', alert.members.length)}${heldBackNote(alert.members, alert.truncated?.members?.total ?? alert.members.length)}); likely a network policy rollout if planned:`,
    );
    for (const m of alert.members) {
      const where = accountText(m);
      lines.push(
        `  ${m.srcIp.padEnd(40)} ${formatNumber(m.blockedCount).padStart(10)}  z ${m.zScore ?? 'n/a'}` +
          (where === undefined
            ? ''
            : `  ${stripControlCharacters(where)}${m.vpcId === undefined ? '' : ` ${m.vpcId}`}`) +
          (m.lastAlertedAt === undefined ? '' : `  (alerted ${shortTime(m.lastAlertedAt)})`),
      );
    }
  }
  const details = alert.details;
  if (details) {
    lines.push(
      '',
      `Top destinations (${details.topDestinations.length} of ${formatNumber(details.totalDestinations)}${cutSuffix(alert, 'topDestinations')}):`,
    );
    for (const d of details.topDestinations)
      lines.push(`  ${destinationText(d).padEnd(52)} ${formatNumber(d.count).padStart(10)}`);
    if (details.interfaceIds.length > 0) {
      lines.push(
        '',
        `Network interfaces (${cutNote(alert, 'interfaceIds', details.interfaceIds.length)}): ${details.interfaceIds.join(', ')}`,
      );
    }
    for (const [eni, resource] of Object.entries(details.resources ?? {})) {
      const facts = Object.entries(resource).map(
        ([k, v]) => `${k} ${withoutLinks(stripControlCharacters(v))}`,
      );
      lines.push(`  ${eni}: ${facts.join(', ')}`);
    }
  }
  lines.push(
    '',
    isAthenaLink(alert.consoleUrl)
      ? 'Investigate in the Athena query editor (the flow logs of this window):'
      : alert.truncated?.consoleLogGroups !== undefined
        ? `Investigate in CloudWatch Logs Insights (this window, these sources; choose the log groups: the names of ${alert.truncated.consoleLogGroups.total} do not fit the message):`
        : 'Investigate in CloudWatch Logs Insights (this window, these sources):',
    alert.consoleUrl,
    '',
    `Alert id: ${alert.alertId}`,
  );
  return lines.join('\n');
}

/** The console link opens Athena's query editor (an Athena flow source), not Logs Insights. */
const isAthenaLink = (consoleUrl: string): boolean => consoleUrl.includes('/athena/');

function cutNote(alert: PublishedAlert, key: string, shown: number): string {
  const cut = alert.truncated?.[key];
  return cut ? `${shown} of ${formatNumber(cut.total)}, list cut to fit the message size` : `${shown}`;
}

function cutSuffix(alert: PublishedAlert, key: string): string {
  return alert.truncated?.[key] ? ', list cut to fit the message size' : '';
}

/** The AWS Chatbot custom notification (Slack), with every untrusted string escaped. */
export function chatbotNotification(alert: PublishedAlert): ChatbotNotification {
  const e = escapeSlackText;
  const who = e(subjectOf(alert));
  const title = `${alert.test ? 'TEST: ' : ''}${alert.severity === 'high' ? ':rotating_light:' : ':warning:'} ${KIND_TITLES[alert.kind]}: ${who}`;
  const lines: string[] = [];
  if (alert.test) lines.push('*This is a test alert* sent by the `test-alert` mode. Nothing was detected.');
  lines.push(
    `*Window:* ${e(shortTime(alert.windowStart))} to ${e(shortTime(alert.windowEnd))} UTC`,
    `*Blocked records:* ${formatNumber(alert.blockedCount)}${alert.uniqueDestinations === null ? '' : ` to ${formatNumber(alert.uniqueDestinations)} destinations`}`,
  );
  const account = accountText(alert);
  if (account !== undefined)
    lines.push(`*Account:* ${e(account)}${alert.vpcId === undefined ? '' : `, VPC ${e(alert.vpcId)}`}`);
  if (alert.kind !== 'mass-spike') lines.push(`*Baseline:* ${e(baselineText(alert))}`);
  const usual = usualText(alert);
  if (usual !== undefined) lines.push(`*This hour:* ${e(usual)}`);
  const job = recurringJobText(alert);
  if (job !== undefined) lines.push(`*Recurring job:* ${e(job)}`);
  const stats = [
    alert.zScore === null ? undefined : `z-score ${alert.zScore}`,
    alert.tailProbability === undefined
      ? undefined
      : `tail probability ${formatProbability(alert.tailProbability)}`,
  ].filter((s): s is string => s !== undefined);
  if (stats.length > 0) lines.push(`*Statistics:* ${stats.join(', ')}`);
  lines.push(`*Severity:* ${e(severityText(alert))} (preset ${alert.preset})`);
  if (alert.incompleteWindow) lines.push('_The window had SKIPDATA records: counts are a lower bound._');
  const cause = causeText(alert);
  if (cause !== undefined) lines.push(`*Likely cause:* ${e(cause)}`);
  if (alert.members && alert.members.length > 0) {
    const total = alert.truncated?.members?.total ?? alert.members.length;
    lines.push(
      `*Sources* (top ${Math.min(CHAT_LIST_LIMIT, alert.members.length)} of ${formatNumber(total)}${heldBackNote(alert.members.slice(0, CHAT_LIST_LIMIT), total)}):`,
    );
    for (const m of alert.members.slice(0, CHAT_LIST_LIMIT)) {
      const where = m.accountId === undefined ? '' : ` in ${e(m.accountName ?? m.accountId)}`;
      const before = m.lastAlertedAt === undefined ? '' : ` (alerted ${e(shortTime(m.lastAlertedAt))})`;
      lines.push(`• ${e(m.srcIp)}${where}: ${formatNumber(m.blockedCount)}${before}`);
    }
  }
  const details = alert.details;
  if (details && details.topDestinations.length > 0) {
    lines.push(
      `*Top destinations* (${Math.min(CHAT_LIST_LIMIT, details.topDestinations.length)} of ${formatNumber(details.totalDestinations)}):`,
    );
    for (const d of details.topDestinations.slice(0, CHAT_LIST_LIMIT))
      lines.push(`• ${e(destinationText(d))}: ${formatNumber(d.count)}`);
  }
  if (details && details.interfaceIds.length > 0) {
    // Every list Slack cuts says so, as the sources and destinations do.
    const total = alert.truncated?.interfaceIds?.total ?? details.interfaceIds.length;
    const shown = Math.min(CHAT_LIST_LIMIT, details.interfaceIds.length);
    const count = shown === total ? '' : ` (${shown} of ${formatNumber(total)})`;
    lines.push(`*Interfaces*${count}: ${details.interfaceIds.slice(0, CHAT_LIST_LIMIT).map(e).join(', ')}`);
  }
  const resources = Object.entries(details?.resources ?? {});
  for (const [eni, resource] of resources.slice(0, CHAT_LIST_LIMIT)) {
    lines.push(
      `• ${e(eni)}: ${Object.entries(resource)
        .map(([k, v]) => `${e(k)} ${e(v)}`)
        .join(', ')}`,
    );
  }
  // Of all the enriched interfaces, not of those left after a cut to fit the message.
  const resourcesTotal = alert.truncated?.resources?.total ?? resources.length;
  if (resourcesTotal > CHAT_LIST_LIMIT) {
    const inEmail =
      resources.length < resourcesTotal
        ? `${formatNumber(resources.length)} of them in the email`
        : 'in the email';
    lines.push(`• and ${formatNumber(resourcesTotal - CHAT_LIST_LIMIT)} more interfaces (${inEmail})`);
  }

  const nextSteps = [
    isAthenaLink(alert.consoleUrl)
      ? `Open the <${alert.consoleUrl}|Athena query editor> (the flow logs of this window)`
      : `Open the <${alert.consoleUrl}|Logs Insights query for this window>`,
  ];
  if (alert.likelyCause?.consoleUrl !== undefined) {
    nextSteps.push(
      `Open the <${alert.likelyCause.consoleUrl}|CloudTrail event> of the likely cause and confirm the change was intended`,
    );
  }
  // With a cause named, the question is whether the change was meant, not what changed.
  if (alert.likelyCause === undefined && alert.kind === 'mass-spike') {
    nextSteps.push(
      'Check whether a network policy (security group, NACL, firewall) change was rolled out in this window',
    );
  } else if (alert.likelyCause === undefined) {
    nextSteps.push('Check what runs on the source and whether the destinations are expected');
  }
  const keywords = [alert.severity, alert.kind, alert.preset, ...(alert.test ? ['test'] : [])];
  return {
    version: '1.0',
    source: 'custom',
    // The Region too: several Regions' detectors may share a topic, and one account's address (a
    // default VPC's) or one window's mass spike is then in more than one of them.
    id: `${alert.region}/${alert.alertId}`,
    content: { textType: 'client-markdown', title, description: lines.join('\n'), nextSteps, keywords },
    metadata: {
      // One Slack thread per source (its Region, account and address; mass spikes per window),
      // so repeated alerts stay together and the same address in two accounts or Regions does not.
      threadId:
        alert.kind === 'mass-spike'
          ? `blocked-egress/${alert.region}/${alert.alertId}`
          : `blocked-egress/${[alert.region, alert.accountId, alert.vpcId, alert.srcIp ?? 'unknown'].filter((p) => p !== undefined).join('/')}`,
      summary: `${alert.test ? 'TEST: ' : ''}${KIND_TITLES[alert.kind]}: ${who}, ${formatNumber(alert.blockedCount)} blocked records in ${e(shortTime(alert.windowStart))}`,
      eventType: `BlockedEgress${alert.kind === 'spike' ? 'Spike' : alert.kind === 'new-source' ? 'NewSource' : 'MassSpike'}`,
      additionalContext: {
        alertId: alert.alertId,
        severity: alert.severity,
        kind: alert.kind,
        windowStart: alert.windowStart,
        blockedCount: String(alert.blockedCount),
        ...(alert.srcIp === undefined ? {} : { srcIp: alert.srcIp }),
        ...(alert.likelyCause === undefined
          ? {}
          : { likelyCauseEvent: `${alert.likelyCause.eventName} ${alert.likelyCause.eventId}` }),
        ...(alert.accountId === undefined ? {} : { accountId: alert.accountId }),
        ...(alert.accountName === undefined ? {} : { accountName: alert.accountName }),
        ...(alert.vpcId === undefined ? {} : { vpcId: alert.vpcId }),
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The SNS message

function attributesOf(alert: PublishedAlert, test: boolean): SnsAlertAttributes {
  // A mass spike's sources go in as String.Array: a filter policy {"srcIp": ["10.0.1.23"]} then
  // matches both the source's own alerts and any mass spike it is part of.
  const srcIp: SnsMessageAttribute =
    alert.srcIp !== undefined
      ? { DataType: 'String', StringValue: alert.srcIp }
      : {
          DataType: 'String.Array',
          StringValue: JSON.stringify([...new Set(alert.srcIps ?? [])].slice(0, MAX_ATTRIBUTE_IPS)),
        };
  // Likewise the account: {"accountId": ["111111111111"]} routes that account's alerts, and the
  // mass spikes it takes part in, to its team. Absent where the records name no account. A mass
  // spike's accounts are those of all its members, also those cut for size (memberAccounts).
  const accounts = [
    ...new Set(
      alert.srcIp !== undefined
        ? alert.accountId === undefined
          ? []
          : [alert.accountId]
        : (alert.memberAccounts ?? membersAccounts(alert.members ?? [])),
    ),
  ].slice(0, MAX_ATTRIBUTE_IPS);
  const accountId: SnsMessageAttribute | undefined =
    accounts.length === 0
      ? undefined
      : alert.srcIp !== undefined
        ? { DataType: 'String', StringValue: accounts[0]! }
        : { DataType: 'String.Array', StringValue: JSON.stringify(accounts) };
  // One host: the account and the address together. Two separate arrays cannot say which
  // member's account an address is in, so {"accountId": [A], "srcIp": [X]} would also match a
  // mass spike with X of another account and any host of A.
  const hostOf = (source: { accountId?: string; srcIp: string }) =>
    `${source.accountId ?? '-'}|${source.srcIp}`;
  const hosts =
    alert.srcIp !== undefined
      ? [`${alert.accountId ?? '-'}|${alert.srcIp}`]
      : alert.members !== undefined
        ? [...new Set(alert.members.map(hostOf))].slice(0, MAX_ATTRIBUTE_IPS)
        : [];
  const accountSrcIp: SnsMessageAttribute | undefined =
    hosts.length === 0
      ? undefined
      : alert.srcIp !== undefined
        ? { DataType: 'String', StringValue: hosts[0]! }
        : { DataType: 'String.Array', StringValue: JSON.stringify(hosts) };
  return {
    severity: { DataType: 'String', StringValue: test ? 'test' : alert.severity },
    kind: { DataType: 'String', StringValue: alert.kind },
    srcIp,
    // Alerts of several Regions may share one topic: a filter policy can route by Region.
    region: { DataType: 'String', StringValue: alert.region },
    ...(alert.downgradedFrom === undefined
      ? {}
      : { policyChange: { DataType: 'String' as const, StringValue: 'downgraded' } }),
    ...(accountId === undefined ? {} : { accountId }),
    ...(accountSrcIp === undefined ? {} : { accountSrcIp }),
  };
}

/** A mass spike's members' distinct accounts, in the members' order. */
const membersAccounts = (members: readonly { accountId?: string }[]): string[] => [
  ...new Set(members.flatMap((m) => (m.accountId === undefined ? [] : [m.accountId]))),
];

function attributeBytes(attributes: SnsAlertAttributes): number {
  return Object.entries(attributes).reduce(
    (sum, [name, a]) =>
      sum + Buffer.byteLength(name) + Buffer.byteLength(a.DataType) + Buffer.byteLength(a.StringValue),
    0,
  );
}

function render(alert: PublishedAlert, test: boolean): SnsAlertMessage {
  const chat = JSON.stringify(chatbotNotification(alert));
  const raw = JSON.stringify(alert);
  const subject = alertSubject(alert, { test });
  const message = JSON.stringify({
    default: chat,
    https: chat,
    email: formatEmailText(alert),
    sqs: raw,
    lambda: raw,
    // A text message (a pager) would otherwise get `default`, kilobytes of Chatbot JSON split
    // into many messages: the subject line, under 100 characters, is one.
    sms: subject,
  });
  const attributes = attributesOf(alert, test);
  return {
    subject,
    message,
    attributes,
    bytes: Buffer.byteLength(message) + attributeBytes(attributes),
    alert,
  };
}

/** Keeps the first `keep` entries of each long list and records what was cut. */
function cut<T extends StoredAlert>(alert: T, keep: number): T {
  const truncated: Record<string, Truncation> = { ...alert.truncated };
  const take = <T>(key: string, list: T[] | undefined): T[] | undefined => {
    if (list === undefined || list.length <= keep) return list;
    truncated[key] = { shown: keep, total: truncated[key]?.total ?? list.length };
    return list.slice(0, keep);
  };
  const next: T = { ...alert };
  if (alert.srcIps) next.srcIps = take('srcIps', alert.srcIps);
  if (alert.members && alert.members.length > keep) {
    // The routing attribute names every member's account, also those of the members cut.
    next.memberAccounts = alert.memberAccounts ?? membersAccounts(alert.members).slice(0, MAX_ATTRIBUTE_IPS);
    next.members = take('members', alert.members);
  }
  if (alert.details) {
    const resources = alert.details.resources;
    const entries = resources ? Object.entries(resources) : undefined;
    const keptResources = take('resources', entries);
    next.details = {
      ...alert.details,
      topDestinations: take('topDestinations', alert.details.topDestinations) ?? [],
      interfaceIds: take('interfaceIds', alert.details.interfaceIds) ?? [],
      ...(keptResources ? { resources: Object.fromEntries(keptResources) } : {}),
    };
  }
  if (Object.keys(truncated).length > 0) next.truncated = truncated;
  return next;
}

function longestList(alert: Alert): number {
  return Math.max(
    alert.srcIps?.length ?? 0,
    alert.members?.length ?? 0,
    alert.details?.topDestinations.length ?? 0,
    alert.details?.interfaceIds.length ?? 0,
    Object.keys(alert.details?.resources ?? {}).length,
  );
}

/** DynamoDB items hold at most 400 KB: an alert kept in the outbox stays well under that. */
export const MAX_STORED_ALERT_BYTES = 300_000;

/** An alert as kept in the outbox: lists cut to fit an item, with what was cut. */
export type StoredAlert = Alert & {
  truncated?: Record<string, Truncation>;
  /** A mass spike cut for size: the distinct accounts of all its members (at most 100). */
  memberAccounts?: string[];
};

/**
 * Cuts the longest lists of an alert (a mass spike over thousands of sources) until its JSON fits
 * `maxBytes`, keeping the totals and recording the cuts in `truncated`.
 */
export function fitAlert(alert: StoredAlert, maxBytes = MAX_STORED_ALERT_BYTES): StoredAlert {
  let fitted = alert;
  let bytes = Buffer.byteLength(JSON.stringify(fitted));
  let keep = longestList(alert);
  while (bytes > maxBytes && keep > 1) {
    keep = Math.max(1, Math.min(Math.floor(keep * 0.75), Math.floor((keep * maxBytes) / bytes)));
    fitted = cut(alert, keep);
    bytes = Buffer.byteLength(JSON.stringify(fitted));
  }
  return fitted;
}

/**
 * A list of alerts cut to fit `maxBytes` of JSON (a dry run's answer, under Lambda's 6 MB
 * response limit): each alert cut as the outbox cuts it, then the first ones that fit, in order;
 * `cut` says how many of how many are shown.
 */
export function fitAlertList<T extends StoredAlert>(
  alerts: readonly T[],
  maxBytes: number,
): { alerts: T[]; cut?: { shown: number; total: number } } {
  const kept: T[] = [];
  let bytes = 2; // the brackets
  for (const alert of alerts) {
    const fitted = fitAlert(alert) as T;
    const size = Buffer.byteLength(JSON.stringify(fitted)) + 1; // and its comma
    if (bytes + size > maxBytes) return { alerts: kept, cut: { shown: kept.length, total: alerts.length } };
    kept.push(fitted);
    bytes += size;
  }
  return { alerts: kept };
}

/**
 * Renders the SNS message for an alert, cutting the longest lists (destinations, members,
 * interfaces, resources) until the message and its attributes fit under 256 KB. Totals stay;
 * `truncated` says what was cut.
 */
export function buildSnsMessage(
  alert: StoredAlert,
  context: AlertFormatContext,
  maxBytes = SNS_MAX_MESSAGE_BYTES - SIZE_MARGIN_BYTES,
): SnsAlertMessage {
  const test = context.test === true;
  const start = Date.parse(alert.windowStart);
  const end = Date.parse(alert.windowEnd);
  const published: PublishedAlert = {
    // Text from outside (EC2 tags, what a query returned) reaches people and programs alike
    // without control characters or bidirectional overrides, in every channel.
    ...withoutControlCharacters(alert),
    alertId: alert.alertId,
    consoleUrl:
      context.athena === undefined
        ? logsInsightsConsoleUrl({
            region: context.region,
            logGroupIdentifiers: context.logGroupIdentifiers,
            start,
            end,
            query: consoleQueryFor(alert, context.flowLogFormat),
          })
        : athenaConsoleUrl(context.region, context.athena.workGroup),
    region: context.region,
    ...(test ? { test: true as const } : {}),
  };
  let rendered = render(published, test);
  let keep = longestList(published);
  while (rendered.bytes > maxBytes && keep > 1) {
    // Shrink proportionally to the overshoot, at least by a quarter, so a huge list takes a few rounds, not hundreds.
    keep = Math.max(1, Math.min(Math.floor(keep * 0.75), Math.floor((keep * maxBytes) / rendered.bytes)));
    rendered = render(cut(published, keep), test);
  }
  if (rendered.bytes > maxBytes && context.athena === undefined && context.logGroupIdentifiers.length > 0) {
    // The console link is in the message five times: fifty long log group names can fill it on
    // their own. The link then opens the window's query without its groups (the reader picks
    // them), and says so, rather than the alert never going out.
    const total = context.logGroupIdentifiers.length;
    return buildSnsMessage(
      { ...alert, truncated: { ...alert.truncated, consoleLogGroups: { shown: 0, total } } },
      { ...context, logGroupIdentifiers: [] },
      maxBytes,
    );
  }
  if (rendered.bytes > maxBytes) throw new AlertTooLargeError(alert.alertId, rendered.bytes);
  return rendered;
}

// ---------------------------------------------------------------------------------------------
// The test alert

/**
 * A clearly marked sample for the `test-alert` mode: kind spike, documentation-range addresses
 * (RFC 5737), the latest closed window. Its id starts with `TEST/` so it can never collide with a
 * real alert's id.
 */
export function sampleTestAlert(
  windowStart: number,
  config: Pick<DetectorConfig, 'windowMinutes' | 'preset'>,
): Alert {
  const windowEnd = windowStart + config.windowMinutes * 60_000;
  return {
    alertId: `TEST/${alertIdFor(windowStart, '192.0.2.10')}`,
    kind: 'spike',
    preset: config.preset,
    severity: 'medium',
    windowStart: isoTime(windowStart),
    windowEnd: isoTime(windowEnd),
    srcIp: '192.0.2.10',
    blockedCount: 420,
    uniqueDestinations: 3,
    baseline: { mean: 12.5, sd: 3.5, dataPoints: 720 },
    zScore: 116.43,
    details: {
      topDestinations: [
        { address: '198.51.100.7', port: 443, protocol: 6, count: 300 },
        { address: '198.51.100.8', port: 53, protocol: 17, count: 100 },
        { address: '198.51.100.9', port: 22, protocol: 6, count: 20 },
      ],
      totalDestinations: 3,
      interfaceIds: ['eni-0123456789abcdef0'],
    },
  };
}
