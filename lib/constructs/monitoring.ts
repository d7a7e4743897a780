/**
 * Is the detector itself healthy? Alarms on errors, throttles, missed runs (the `RunSucceeded`
 * heartbeat), dead letters, records that arrive later than the lag, windows skipped after
 * failing on every try, alerts parked after SNS refused them and baseline buckets nearly full,
 * notifying the operations topic; and a dashboard of what it sees.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Metric names the handler emits (Powertools EMF), dimension `service`. */
export const DETECTOR_METRICS = [
  'SourcesEvaluated',
  'Spikes',
  'AlertsPublished',
  'BytesScanned',
  'RecordsMatched',
  'WindowsCaughtUp',
  // Closed windows a scheduled run left for the next one (catch-up bound or out of time).
  'WindowsBehind',
  'IncompleteWindows',
  'RunSucceeded',
  'MaxDeliveryDelay',
  'WindowsSkipped',
  // Alerts parked (SNS refused them in maxAlertRefusals runs) and waiting for mode
  // republish-parked, counted by every run.
  'AlertsParked',
  // Records of the checked slice that do not have flowLogFormat: they never count (absent: no check).
  'RecordsNotInFormat',
  // Alerts that went out without a likely cause (change causes on; the lookup failed).
  'ChangeCausesUnavailable',
  // The fullest baseline bucket written by a run, in % of the size a bucket may grow to.
  'BaselineBucketFill',
] as const;
export type DetectorMetricName = (typeof DETECTOR_METRICS)[number];

export interface MonitoringProps {
  readonly detector: lambda.IFunction;
  readonly metricsNamespace: string;
  readonly serviceName: string;
  /** The detection window: the heartbeat's period. */
  readonly windowMinutes: number;
  /** The detector's lag: records arriving later than this after their start are missed. */
  readonly lagMinutes: number;
  /**
   * Whether the flow source measures how late records arrive (MaxDeliveryDelay): Logs Insights
   * does (`@ingestionTime`), Athena does not, so there the LateRecords alarm and its graph would
   * watch a metric that is never emitted.
   */
  readonly measuresDeliveryDelay: boolean;
  /** Queues that must stay empty: the function's failure destination, the schedule's DLQ. */
  readonly deadLetterQueues: Record<string, sqs.IQueue>;
  readonly operationsTopic: sns.ITopic;
  readonly dashboardName: string;
}

export class Monitoring extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;
  private readonly operationsTopic: sns.ITopic;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.operationsTopic = props.operationsTopic;
    const window = Duration.minutes(props.windowMinutes);
    const fiveMinutes = Duration.minutes(5);
    const metric = (metricName: DetectorMetricName, statistic = 'Sum', period = window) =>
      new cloudwatch.Metric({
        namespace: props.metricsNamespace,
        metricName,
        dimensionsMap: { service: props.serviceName },
        statistic,
        period,
      });

    this.addAlarm('Errors', props.detector.metricErrors({ period: fiveMinutes, statistic: 'Sum' }), {
      description: 'The detector function failed (each failed attempt counts; retries follow).',
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.addAlarm('Throttles', props.detector.metricThrottles({ period: fiveMinutes, statistic: 'Sum' }), {
      description:
        'A detector invocation was throttled: a run overlapped the previous one (reserved concurrency 1).',
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // No heartbeat is the failure that nothing else reports (schedule disabled, permissions,
    // every retry failing): missing data is breaching.
    this.addAlarm('MissedRuns', metric('RunSucceeded'), {
      description: `No successful detector run for ${2 * props.windowMinutes} minutes (two windows): blocked egress is not being watched.`,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    // A record that reaches CloudWatch Logs later than the lag after its start is missed for good
    // when it starts near a window's end: the run has counted the window without it.
    if (props.measuresDeliveryDelay) {
      this.addAlarm('LateRecords', metric('MaxDeliveryDelay', 'Maximum'), {
        description: `Flow log records arrived more than lagMinutes (${props.lagMinutes} min) after their start: records near the end of a window arrive after it is counted and are never counted. Raise lagMinutes (detectorConfig).`,
        threshold: props.lagMinutes * 60,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    // A run leaves windows it has no time or catch-up room for to the next; a detector that still
    // has some left after three runs is not keeping up (runs too slow for the window, or a
    // maxCatchUpWindows that cannot clear a backlog while new windows close), and its alerts come late.
    this.addAlarm('FallingBehind', metric('WindowsBehind', 'Minimum'), {
      description: `Closed windows were left for the next run in each of three runs: the detector is not keeping up and its alerts come late. The run log says why (deferredWindows, and the time or the maxCatchUpWindows bound); raise maxCatchUpWindows, or the function's timeout or memory.`,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // A window that failed in maxWindowAttempts runs is skipped so that later ones go on: a gap in
    // what the detector watched, which someone should look at (or skip on purpose: mode skip).
    this.addAlarm('SkippedWindows', metric('WindowsSkipped'), {
      description:
        'A window was skipped (not counted) after failing in maxWindowAttempts runs, or on request: blocked egress in it was not watched. The run logs and the SKIPPED items of the table say why.',
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // An alert SNS refused in maxAlertRefusals runs is parked so that runs succeed again: an alert
    // nobody received, kept in the table until it is sent (mode republish-parked).
    // Counted by every run: in alarm while any waits; a run that could not count (missing data)
    // leaves the state as it was.
    this.addAlarm('ParkedAlerts', metric('AlertsParked', 'Maximum'), {
      description:
        'An alert was parked after SNS refused it in maxAlertRefusals runs (a topic policy or key that denies the publish, a message the topic will not take): nobody received it. Mend the cause (the run log names it), then invoke the function with {"mode": "republish-parked"}.',
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
    });
    // Records in another format than flowLogFormat never count: their sources read as quiet. A
    // check runs once a day: missing data keeps the alarm's state until the next check's answer.
    this.addAlarm('RecordsNotInFormat', metric('RecordsNotInFormat', 'Maximum'), {
      description:
        'Flow log records do not have the configured flow log format (flowLogFormat): they are never counted and their sources look quiet. The run log says how many; set flowLogFormat to the format every log group has.',
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
    });
    // A baseline bucket over its size limit fails every commit until the deployment has more
    // buckets and has relearnt its baselines: the alarm asks for that while there is room.
    this.addAlarm('BaselineBucketsFilling', metric('BaselineBucketFill', 'Maximum'), {
      description:
        'A baseline bucket (a DynamoDB item holding many sources\' baselines) is 90% of the size it may grow to: the estate is nearly more than baselineBuckets holds, and a commit that overflows one fails. Raise the deployment setting baselineBuckets (cdk.json) and relearn the baselines with {"mode":"bootstrap","days":30,"overwrite":true}.',
      threshold: 90,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
    });
    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      this.addAlarm(
        name,
        queue.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: 'Maximum' }),
        {
          description: `${name}: messages are waiting; each one is a detector run that never succeeded. Inspect, then purge.`,
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        },
      );
    }

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.days(7),
    });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Spikes and alerts published',
        left: [metric('Spikes'), metric('AlertsPublished')],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Sources evaluated per window',
        left: [metric('SourcesEvaluated')],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Bytes scanned by the queries (cost driver)',
        left: [metric('BytesScanned')],
        right: [metric('RecordsMatched')],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Run duration (ms)',
        left: [
          props.detector.metricDuration({ statistic: 'Average', period: window }),
          props.detector.metricDuration({ statistic: 'Maximum', period: window }),
        ],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Runs: succeeded, windows caught up and left behind, incomplete and skipped windows',
        left: [
          metric('RunSucceeded'),
          metric('WindowsCaughtUp'),
          metric('WindowsBehind', 'Maximum'),
          metric('IncompleteWindows'),
          metric('WindowsSkipped'),
          metric('AlertsParked'),
        ],
        width: 12,
      }),
      new cloudwatch.AlarmStatusWidget({ title: 'Detector health', alarms: this.alarms, width: 12 }),
    );
    if (props.measuresDeliveryDelay) {
      this.dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: 'Longest flow log delivery delay (s) against the lag',
          left: [metric('MaxDeliveryDelay', 'Maximum')],
          leftAnnotations: [{ value: props.lagMinutes * 60, label: `lagMinutes (${props.lagMinutes})` }],
          width: 12,
        }),
      );
    }
  }

  private addAlarm(
    id: string,
    metric: cloudwatch.IMetric,
    props: Omit<cloudwatch.CreateAlarmOptions, 'alarmDescription'> & { description: string },
  ): void {
    const { description, ...options } = props;
    const alarm = new cloudwatch.Alarm(this, id, { metric, alarmDescription: description, ...options });
    const action = new actions.SnsAction(this.operationsTopic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    this.alarms.push(alarm);
  }
}
