/** Flow log format strings (lambda/core/flow-log-format.ts): parsing, the errors, the Logs Insights names, several Regions in one format. */
import {
  DEFAULT_FLOW_LOG_FORMAT,
  FLOW_LOG_FIELDS,
  InvalidFlowLogFormatError,
  REQUIRED_FLOW_LOG_FIELDS,
  insightsFieldName,
  parseFlowLogFormat,
  severalRegionsProblem,
} from '../../lambda/core';
import { FLOW_LOG_V2_FIELDS } from '../support/logs-insights-query';

/** The error `run` throws (fails the test when it throws none). */
function errorOf(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error, none was thrown');
}

describe('parseFlowLogFormat', () => {
  it("reads AWS's ${field} form and a header line's bare form alike, in order", () => {
    const aws = '${version} ${vpc-id} ${srcaddr} ${dstaddr} ${action} ${start} ${tcp-flags}';
    const header = 'version vpc-id srcaddr dstaddr action start tcp-flags';
    const expected = ['version', 'vpc-id', 'srcaddr', 'dstaddr', 'action', 'start', 'tcp-flags'];
    expect(parseFlowLogFormat(aws)).toEqual(expected);
    expect(parseFlowLogFormat(header)).toEqual(expected);
  });

  it('takes any run of spaces or tabs between fields, and around them', () => {
    expect(parseFlowLogFormat('  srcaddr \t dstaddr\taction    start \n')).toEqual([
      'srcaddr',
      'dstaddr',
      'action',
      'start',
    ]);
  });

  it('reads the v2 default format as DEFAULT_FLOW_LOG_FORMAT', () => {
    const v2 =
      '${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ' +
      '${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}';
    expect(parseFlowLogFormat(v2)).toEqual(DEFAULT_FLOW_LOG_FORMAT);
  });

  it.each(['', '   ', '\t\n'])('refuses an empty format (%j) as empty', (format) => {
    const error = errorOf(() => parseFlowLogFormat(format));
    expect(error).toBeInstanceOf(InvalidFlowLogFormatError);
    expect(error.message).toBe('flow log format is empty');
  });

  it('names an unknown field as written, and lists the known ones', () => {
    const error = errorOf(() => parseFlowLogFormat('srcaddr dstaddr action start ${src-addr}'));
    expect(error).toBeInstanceOf(InvalidFlowLogFormatError);
    expect(error.message).toBe(
      `unknown flow log field "\${src-addr}" in format (known fields: ${FLOW_LOG_FIELDS.join(', ')})`,
    );
  });

  it.each(['pkt-${dstaddr}', '${vpc}-id', '${pkt}-${srcaddr}'])(
    'reads ${...} only around a whole token: %j is no field, not a misread one',
    (token) => {
      const error = errorOf(() => parseFlowLogFormat(`srcaddr dstaddr action start ${token}`));
      expect(error.message).toMatch(/^unknown flow log field "/);
      expect(error.message).toContain(`"${token}"`);
    },
  );

  it('refuses a field named twice, whatever the form', () => {
    const error = errorOf(() => parseFlowLogFormat('srcaddr dstaddr action start ${srcaddr}'));
    expect(error).toBeInstanceOf(InvalidFlowLogFormatError);
    expect(error.message).toBe('flow log field "srcaddr" appears twice in format');
  });

  it('names every required field that is missing, in the order the detector needs them', () => {
    expect(REQUIRED_FLOW_LOG_FIELDS).toEqual(['srcaddr', 'dstaddr', 'action', 'start']);
    expect(errorOf(() => parseFlowLogFormat('version dstaddr end')).message).toBe(
      'flow log format lacks required field(s): srcaddr, action, start',
    );
    for (const required of REQUIRED_FLOW_LOG_FIELDS) {
      const others = REQUIRED_FLOW_LOG_FIELDS.filter((f) => f !== required);
      expect(errorOf(() => parseFlowLogFormat(others.join(' '))).message).toBe(
        `flow log format lacks required field(s): ${required}`,
      );
    }
  });

  it('throws errors that say their class (what a log line shows)', () => {
    expect(errorOf(() => parseFlowLogFormat('')).name).toBe('InvalidFlowLogFormatError');
  });
});

describe('insightsFieldName', () => {
  // Logs Insights, "Supported logs and discovered fields", Amazon VPC flow logs: the names it
  // discovers in Standard-class groups (as the local endpoint discovers them).
  const DISCOVERED: readonly string[] = FLOW_LOG_V2_FIELDS;

  it('names the v2 fields after the discovered ones, but never as one of them (what a record holds under a discovered name a parse also sets is not documented)', () => {
    const names = DEFAULT_FLOW_LOG_FORMAT.map((f) => insightsFieldName(f));
    expect(names).toEqual(DISCOVERED.map((d) => `flow${d.charAt(0).toUpperCase()}${d.slice(1)}`));
    for (const field of FLOW_LOG_FIELDS) expect(DISCOVERED).not.toContain(insightsFieldName(field));
  });

  it('camel-cases the other fields at each hyphen', () => {
    expect(
      (['vpc-id', 'pkt-srcaddr', 'tcp-flags', 'ecs-container-instance-arn', 'region'] as const).map(
        insightsFieldName,
      ),
    ).toEqual(['flowVpcId', 'flowPktSrcaddr', 'flowTcpFlags', 'flowEcsContainerInstanceArn', 'flowRegion']);
  });
});

describe('severalRegionsProblem', () => {
  const WITH_VPC =
    'version account-id vpc-id interface-id srcaddr dstaddr dstport protocol start end action log-status';

  it('lets one Region, or none named, be read in any format', () => {
    expect(severalRegionsProblem(undefined, [])).toBeUndefined();
    expect(severalRegionsProblem(undefined, ['eu-west-1'])).toBeUndefined();
  });

  it('refuses several Regions in the default format or a custom one without vpc-id, naming them and the way out', () => {
    const problem = severalRegionsProblem(undefined, ['eu-west-1', 'us-east-1']);
    expect(problem).toContain('the flow logs of eu-west-1, us-east-1 in a format without vpc-id');
    expect(problem).toContain('add vpc-id to the flow logs');
    expect(problem).toContain("or deploy a detector for each Region's flow logs");
    expect(severalRegionsProblem(WITH_VPC.replace('vpc-id ', ''), ['eu-west-1', 'us-east-1'])).toBeDefined();
  });

  it('takes several Regions in a format with vpc-id (VPC ids are unique across Regions)', () => {
    expect(severalRegionsProblem(WITH_VPC, ['eu-west-1', 'us-east-1'])).toBeUndefined();
  });
});
