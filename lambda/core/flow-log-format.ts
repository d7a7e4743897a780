/**
 * VPC flow log record formats: the field names AWS writes, how a format string is parsed, and
 * the Logs Insights field name each one gets (the auto-discovered camelCase names for the v2
 * fields, so that default and custom formats share one query body).
 */

/** Every field a flow log format string may name (AWS docs, versions 2 to 8). */
export const FLOW_LOG_FIELDS = [
  'version',
  'account-id',
  'interface-id',
  'srcaddr',
  'dstaddr',
  'srcport',
  'dstport',
  'protocol',
  'packets',
  'bytes',
  'start',
  'end',
  'action',
  'log-status',
  'vpc-id',
  'subnet-id',
  'instance-id',
  'tcp-flags',
  'type',
  'pkt-srcaddr',
  'pkt-dstaddr',
  'region',
  'az-id',
  'sublocation-type',
  'sublocation-id',
  'pkt-src-aws-service',
  'pkt-dst-aws-service',
  'flow-direction',
  'traffic-path',
  'ecs-cluster-arn',
  'ecs-cluster-name',
  'ecs-container-instance-arn',
  'ecs-container-instance-id',
  'ecs-container-id',
  'ecs-second-container-id',
  'ecs-service-name',
  'ecs-task-definition-arn',
  'ecs-task-arn',
  'ecs-task-id',
  'reject-reason',
  'resource-id',
  'encryption-status',
] as const;

export type FlowLogField = (typeof FLOW_LOG_FIELDS)[number];

/** The v2 default format. */
export const DEFAULT_FLOW_LOG_FORMAT: readonly FlowLogField[] = [
  'version',
  'account-id',
  'interface-id',
  'srcaddr',
  'dstaddr',
  'srcport',
  'dstport',
  'protocol',
  'packets',
  'bytes',
  'start',
  'end',
  'action',
  'log-status',
];

/** Fields the detector cannot work without. */
export const REQUIRED_FLOW_LOG_FIELDS: readonly FlowLogField[] = ['srcaddr', 'dstaddr', 'action', 'start'];

const KNOWN = new Set<string>(FLOW_LOG_FIELDS);

export class InvalidFlowLogFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidFlowLogFormatError';
  }
}

/**
 * Parses `${version} ${srcaddr} ...` (as AWS shows it) or `version srcaddr ...` (as a file's
 * header line has it). Every name must be a known flow log field, each at most once.
 */
export function parseFlowLogFormat(format: string): FlowLogField[] {
  const tokens = format
    .trim()
    .split(/\s+/)
    .filter((t) => t.length > 0);
  if (tokens.length === 0) throw new InvalidFlowLogFormatError('flow log format is empty');
  const fields: FlowLogField[] = [];
  for (const token of tokens) {
    const name = token.replace(/^\$\{(.*)\}$/, '$1');
    if (!KNOWN.has(name)) {
      throw new InvalidFlowLogFormatError(
        `unknown flow log field "${token}" in format (known fields: ${FLOW_LOG_FIELDS.join(', ')})`,
      );
    }
    if (fields.includes(name as FlowLogField)) {
      throw new InvalidFlowLogFormatError(`flow log field "${name}" appears twice in format`);
    }
    fields.push(name as FlowLogField);
  }
  const missing = REQUIRED_FLOW_LOG_FIELDS.filter((f) => !fields.includes(f));
  if (missing.length > 0) {
    throw new InvalidFlowLogFormatError(`flow log format lacks required field(s): ${missing.join(', ')}`);
  }
  return fields;
}

const INSIGHTS_NAMES: Partial<Record<FlowLogField, string>> = {
  'account-id': 'accountId',
  'interface-id': 'interfaceId',
  srcaddr: 'srcAddr',
  dstaddr: 'dstAddr',
  srcport: 'srcPort',
  dstport: 'dstPort',
  start: 'startTime',
  end: 'endTime',
  'log-status': 'logStatus',
};

/**
 * The name a Logs Insights query gives a field it parses from the record's text: `srcaddr` ->
 * `flowSrcAddr`, `pkt-srcaddr` -> `flowPktSrcaddr`. Never a name Logs Insights discovers itself
 * (`srcAddr`, `action`, `version`, ... in Standard-class groups): what a record holds under a
 * discovered name when a `parse` of the same name fails to match it, or matches it in another
 * order, is not documented ("you still see it in the results, but without the extracted fields"),
 * and the format check and a custom format must read the parsed values alone.
 */
export function insightsFieldName(field: FlowLogField): string {
  const name = INSIGHTS_NAMES[field] ?? field.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
  return `flow${name.charAt(0).toUpperCase()}${name.slice(1)}`;
}

/**
 * Why one detector cannot count the flow logs of several Regions in this format, or undefined
 * when it can: a source is its account's address (and VPC where the format has `vpc-id`), and the
 * records carry no Region, so without `vpc-id` one account's address in two Regions (every
 * Region's default VPC is 172.31.0.0/16) would be one source with one baseline. VPC ids are
 * unique across Regions.
 */
export function severalRegionsProblem(
  format: string | undefined,
  regions: readonly string[],
): string | undefined {
  if (regions.length <= 1) return undefined;
  if (format !== undefined && parseFlowLogFormat(format).includes('vpc-id')) return undefined;
  return (
    `the flow logs of ${regions.join(', ')} in a format without vpc-id would count one account's address in two Regions ` +
    `(every default VPC is 172.31.0.0/16) as one source: add vpc-id to the flow logs' format (and to flowLogFormat), ` +
    `or deploy a detector for each Region's flow logs`
  );
}
