/**
 * The Athena flow source's resources: a results bucket (encrypted, TLS only, results expire), a
 * workgroup whose settings are enforced (results location and encryption, the per-query
 * bytes-scanned cutoff, engine version 3, CloudWatch metrics), and for flow logs in S3 the Glue
 * database and table with partition projection (lambda/adapters/athena-table.ts: the one
 * definition the local Athena endpoint also reads), so no partition ever has to be added. For
 * Security Lake the table exists already and Lake Formation grants access (docs/athena.md).
 * `grantQuery(role)` gives the detector exactly what its queries need.
 */
import { createHash } from 'node:crypto';
import { Aws, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import {
  flowLogColumns,
  flowLogPartitionKeys,
  flowLogTableLocation,
  flowLogTableParameters,
  type AthenaFlowTable,
  type FlowLogFileFormat,
} from '../../lambda/adapters/athena-table';

export interface S3FlowLogsProps {
  readonly bucket: string;
  readonly prefix: string;
  readonly fileFormat: FlowLogFileFormat;
  readonly hiveCompatible: boolean;
  readonly hourlyPartitions: boolean;
  /** Accounts and Regions whose flow logs are under the prefix; empty: this stack's. */
  readonly accounts: readonly string[];
  readonly regions: readonly string[];
  /** The KMS key the flow log objects are encrypted with (SSE-KMS), if any. */
  readonly kmsKeyArn?: string;
  /** The detector's flow log format (field names), for a text table's column order. */
  readonly flowLogFormat?: string;
}

export interface AthenaFlowSourceProps {
  /** Flow logs in S3 (the stack makes the table) or Security Lake's table (it exists). */
  readonly s3FlowLogs?: S3FlowLogsProps;
  readonly securityLake?: {
    readonly database: string;
    readonly table: string;
    /** Where `database` and `table` are a query subscriber's resource links: the shared table they point to. */
    readonly target?: { readonly account: string; readonly database: string; readonly table: string };
  };
  readonly bytesScannedCutoffPerQuery: number;
  readonly resultsRetentionDays: number;
  readonly removalPolicy: RemovalPolicy;
}

/** Years the flow-log table's partition projection covers (from, to). */
const PROJECTED_YEARS = { first: 2020, last: 2100 } as const;

export class AthenaFlowSourceResources extends Construct {
  readonly resultsBucket: s3.Bucket;
  readonly workGroup: athena.CfnWorkGroup;
  readonly workGroupName: string;
  readonly table: AthenaFlowTable;
  /** The shared table a Security Lake resource link points to (AthenaFlowSourceProps.securityLake). */
  private readonly linkTarget?: {
    readonly account: string;
    readonly database: string;
    readonly table: string;
  };
  private readonly props: AthenaFlowSourceProps;
  /**
   * A SHA-256 of the table's definition as deployed (the flow-logs table's location, partition
   * projection, columns and SerDe; Security Lake's table and the shared table its link points
   * to): a bootstrap reads a kept history query again only on the same table, since its SQL names
   * the table but not what the table reads (a mended prefix, an added account).
   */
  private tableFingerprint?: string;

  constructor(scope: Construct, id: string, props: AthenaFlowSourceProps) {
    super(scope, id);
    this.props = props;
    const stack = Stack.of(this);
    if ((props.s3FlowLogs === undefined) === (props.securityLake === undefined)) {
      throw new Error('AthenaFlowSourceResources needs either s3FlowLogs or securityLake');
    }

    this.resultsBucket = new s3.Bucket(this, 'Results', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        {
          expiration: Duration.days(props.resultsRetentionDays),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy: props.removalPolicy,
      autoDeleteObjects: false,
    });
    Validations.of(this.resultsBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: `Holds only the detector workgroup's query results, which expire after ${props.resultsRetentionDays} days; server access logs would need a second bucket for them. Without them, object reads and writes are logged only if the account's CloudTrail logs S3 data events (off by default); who may read the bucket is decided by IAM in this account (its bucket policy only refuses requests without TLS).`,
    });

    this.workGroupName = `${stack.stackName}-detector`.slice(0, 128);
    this.workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: this.workGroupName,
      description:
        'Egress spike detector: flow log count queries (results location, encryption and cutoff enforced)',
      state: 'ENABLED',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: props.bytesScannedCutoffPerQuery,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: `s3://${this.resultsBucket.bucketName}/results/`,
          encryptionConfiguration: { encryptionOption: 'SSE_S3' },
        },
      },
    });

    if (props.securityLake !== undefined) {
      this.table = {
        kind: 'security-lake',
        database: props.securityLake.database,
        table: props.securityLake.table,
      };
      if (props.securityLake.target !== undefined) this.linkTarget = props.securityLake.target;
      // Security Lake's table is Security Lake's; the stack knows only which one (a resource link
      // may point at another account's shared table, and be pointed elsewhere).
      this.tableFingerprint = createHash('sha256')
        .update(JSON.stringify(stack.resolve({ table: this.table, target: this.linkTarget ?? null })))
        .digest('hex');
      return;
    }
    const flowLogs = props.s3FlowLogs!;
    const databaseName = `${stack.stackName.toLowerCase().replace(/[^a-z0-9]/g, '_')}_flow_logs`.slice(
      0,
      255,
    );
    const tableName = 'vpc_flow_logs';
    const database = new glue.CfnDatabase(this, 'Database', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: {
        name: databaseName,
        description: 'VPC flow logs in S3, for the egress spike detector',
      },
    });
    const location = {
      bucket: flowLogs.bucket,
      prefix: flowLogs.prefix,
      hiveCompatible: flowLogs.hiveCompatible,
      hourlyPartitions: flowLogs.hourlyPartitions,
      fileFormat: flowLogs.fileFormat,
      accounts: flowLogs.accounts.length > 0 ? flowLogs.accounts : [Aws.ACCOUNT_ID],
      regions: flowLogs.regions.length > 0 ? flowLogs.regions : [Aws.REGION],
      firstYear: PROJECTED_YEARS.first,
    };
    const parquet = flowLogs.fileFormat === 'parquet';
    const table = new glue.CfnTable(this, 'Table', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName,
      tableInput: {
        name: tableName,
        description: 'VPC flow logs (partition projection: no partitions to add)',
        tableType: 'EXTERNAL_TABLE',
        parameters: flowLogTableParameters(location, PROJECTED_YEARS.last),
        partitionKeys: flowLogPartitionKeys(flowLogs.hourlyPartitions),
        storageDescriptor: {
          columns: flowLogColumns(flowLogs.flowLogFormat),
          location: flowLogTableLocation(location),
          inputFormat: parquet
            ? 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat'
            : 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: parquet
            ? 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat'
            : 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          serdeInfo: parquet
            ? { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' }
            : {
                serializationLibrary: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe',
                parameters: { 'field.delim': ' ', 'serialization.format': ' ' },
              },
        },
      },
    });
    table.addResourceDependency(database);
    this.tableFingerprint = createHash('sha256')
      .update(JSON.stringify(stack.resolve(table.tableInput)))
      .digest('hex');
    this.table = {
      kind: 'flow-logs',
      database: databaseName,
      table: tableName,
      hourlyPartitions: flowLogs.hourlyPartitions,
    };
  }

  /** The environment the detector reads (runtime-config.ts). */
  get environment(): Record<string, string> {
    return {
      FLOW_SOURCE: 'athena',
      ATHENA_WORKGROUP: this.workGroupName,
      ATHENA_DATABASE: this.table.database,
      ATHENA_TABLE: this.table.table,
      ATHENA_TABLE_KIND: this.table.kind,
      ATHENA_HOURLY_PARTITIONS:
        this.table.kind === 'flow-logs' && this.table.hourlyPartitions ? 'true' : 'false',
      ...(this.tableFingerprint === undefined ? {} : { ATHENA_TABLE_FINGERPRINT: this.tableFingerprint }),
      // The function refuses change causes for flow logs of another Region (runtime-config.ts).
      ATHENA_FLOW_LOG_REGIONS: (this.props.s3FlowLogs?.regions ?? []).join(','),
    };
  }

  /**
   * What the detector's queries need, and nothing else. Returns the reasons for any resource "*"
   * it granted (the caller acknowledges the one finding with every reason).
   */
  grantQuery(role: iam.Role): string[] {
    const wildcardReasons: string[] = [];
    const stack = Stack.of(this);
    const workGroupArn = stack.formatArn({
      service: 'athena',
      resource: 'workgroup',
      resourceName: this.workGroupName,
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'AthenaQueries',
        actions: [
          'athena:StartQueryExecution',
          'athena:GetQueryExecution',
          'athena:GetQueryResults',
          'athena:StopQueryExecution',
        ],
        resources: [workGroupArn],
      }),
    );
    const glueArn = (resource: string, name: string) =>
      stack.formatArn({ service: 'glue', resource, resourceName: name });
    // The S3 table projects its partitions, so Athena never asks Glue for them. Security Lake keeps
    // its table's partitions in Glue, and Athena reads them with the caller's credentials: IAM must
    // allow that as well as Lake Formation.
    const partitionActions =
      this.table.kind === 'security-lake'
        ? ['glue:GetPartitions', 'glue:GetPartition', 'glue:BatchGetPartition']
        : [];
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'FlowLogTable',
        actions: ['glue:GetDatabase', 'glue:GetTable', ...partitionActions],
        resources: [
          stack.formatArn({ service: 'glue', resource: 'catalog' }),
          glueArn('database', this.table.database),
          glueArn('table', `${this.table.database}/${this.table.table}`),
          // Through a resource link Glue follows it to the target, and a request must pass IAM on
          // the target as well as the link (Lake Formation, "Resource link handling in AWS Glue
          // APIs"): the same reads on the shared table in the Security Lake account.
          ...(this.linkTarget === undefined
            ? []
            : [
                stack.formatArn({ service: 'glue', account: this.linkTarget.account, resource: 'catalog' }),
                stack.formatArn({
                  service: 'glue',
                  account: this.linkTarget.account,
                  resource: 'database',
                  resourceName: this.linkTarget.database,
                }),
                stack.formatArn({
                  service: 'glue',
                  account: this.linkTarget.account,
                  resource: 'table',
                  resourceName: `${this.linkTarget.database}/${this.linkTarget.table}`,
                }),
              ]),
        ],
      }),
    );
    // Athena writes and reads the results as the caller.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'QueryResults',
        actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        resources: [this.resultsBucket.arnForObjects('results/*')],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'QueryResultsBucket',
        actions: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
        resources: [this.resultsBucket.bucketArn],
      }),
    );
    const resultsFinding = `Resource::<${stack.getLogicalId(this.resultsBucket.node.defaultChild as s3.CfnBucket)}.Arn>/results/*`;
    const findings: Array<{ id: string; reason: string }> = [
      {
        id: `AwsSolutions-IAM5[${resultsFinding}]`,
        reason:
          "Athena writes each query result under the results/ prefix of the detector's own results bucket with a new name per query; the prefix is the narrowest resource.",
      },
    ];

    const flowLogs = this.props.s3FlowLogs;
    if (flowLogs !== undefined) {
      // IAM reads `*` in a resource or a StringLike value as a wildcard: a prefix holding one
      // (S3 allows it) is written with IAM's literal asterisk, `${*}`, or the grant would quietly
      // cover other prefixes too.
      const prefix = `${flowLogs.prefix === '' ? '' : `${flowLogs.prefix}/`}AWSLogs/`.replace(/\*/g, '${*}');
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'FlowLogObjects',
          actions: ['s3:GetObject'],
          resources: [`arn:${Aws.PARTITION}:s3:::${flowLogs.bucket}/${prefix}*`],
        }),
      );
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'FlowLogBucket',
          actions: ['s3:ListBucket'],
          resources: [`arn:${Aws.PARTITION}:s3:::${flowLogs.bucket}`],
          conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
        }),
      );
      // Not beside ListBucket: s3:prefix is present on list requests only, so under that
      // condition GetBucketLocation would never be allowed.
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'FlowLogBucketLocation',
          actions: ['s3:GetBucketLocation'],
          resources: [`arn:${Aws.PARTITION}:s3:::${flowLogs.bucket}`],
        }),
      );
      findings.push({
        // cdk-nag writes a policy variable such as `${*}` as `<*>` in its finding.
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${flowLogs.bucket}/${prefix.replace(/\$\{\*\}/g, '<*>')}*]`,
        reason: `s3:GetObject on the flow log objects under ${flowLogs.bucket}/${prefix} only: VPC Flow Logs names a new object per delivery.`,
      });
      if (flowLogs.kmsKeyArn !== undefined) {
        role.addToPrincipalPolicy(
          new iam.PolicyStatement({
            sid: 'FlowLogKey',
            actions: ['kms:Decrypt'],
            resources: [flowLogs.kmsKeyArn],
            // S3 calls KMS from the bucket's Region, the key's (a central bucket may be in another
            // Region than this detector).
            conditions: {
              StringEquals: { 'kms:ViaService': `s3.${kmsKeyRegion(flowLogs.kmsKeyArn)}.amazonaws.com` },
            },
          }),
        );
      }
    } else {
      // Security Lake's tables are governed by Lake Formation, which hands Athena temporary
      // credentials for the data: the role needs lakeformation:GetDataAccess (which takes no
      // resource) and the Lake Formation grants of docs/athena.md, not S3 permissions.
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'LakeFormationData',
          actions: ['lakeformation:GetDataAccess'],
          resources: ['*'],
        }),
      );
      wildcardReasons.push(
        'lakeformation:GetDataAccess supports no resource-level permissions; what the role may read is decided by its Lake Formation grants (SELECT on the one VPC flow table)',
      );
    }
    for (const finding of findings) Validations.of(role).acknowledge(finding);
    return wildcardReasons;
  }
}

/** The Region of a KMS key ARN (`arn:aws:kms:<region>:<account>:key/<id>`); this stack's when it names none. */
function kmsKeyRegion(keyArn: string): string {
  const region = keyArn.split(':')[3];
  return region === undefined || region === '' ? Aws.REGION : region;
}
