/**
 * Where alerts go: an SNS topic encrypted with a customer-managed KMS key (CloudWatch alarms may
 * use it), email subscriptions, and optionally Slack through AWS Chatbot. Operational alarms go
 * to the same topic unless an operations topic is configured.
 *
 * Several Regions may share one alert topic (`central`): the stack of its Region creates it with
 * a fixed name; the others publish to it by ARN and keep a topic of their own for their alarms
 * (CloudWatch alarms notify a topic of their own Region only).
 */
import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as chatbot from 'aws-cdk-lib/aws-chatbot';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface SlackTarget {
  /** Slack workspace (team) ID, authorised for AWS Chatbot once in the console. */
  readonly workspaceId: string;
  /** Slack channel ID. */
  readonly channelId: string;
}

export interface AlertingProps {
  /** Email addresses subscribed to alerts. @default [] */
  readonly alertEmails?: readonly string[];
  /** Slack channel fed by AWS Chatbot. @default no Slack */
  readonly slack?: SlackTarget;
  /** Email addresses for operational alarms on a separate topic. @default alarms go to the alert topic */
  readonly operationsEmails?: readonly string[];
  /** An existing topic for operational alarms. @default alarms go to the alert topic */
  readonly operationsTopicArn?: string;
  /** Chatbot configuration name (unique per account). */
  readonly chatbotConfigurationName: string;
  /** One alert topic for several Regions: its name and Region, and whether it is this stack's. */
  readonly central?: { readonly topicName: string; readonly region: string; readonly home: boolean };
}

export class Alerting extends Construct {
  readonly key: kms.Key;
  /** Where detector alerts are published (another Region's topic for a central topic). */
  readonly alertTopic: sns.ITopic;
  /** Where operational alarms notify (the alert topic unless configured). */
  readonly operationsTopic: sns.ITopic;
  /** The operations topic when this construct created it (not the alert topic, not an existing one). */
  readonly ownOperationsTopic?: sns.Topic;
  readonly slackChannel?: chatbot.SlackChannelConfiguration;

  constructor(scope: Construct, id: string, props: AlertingProps) {
    super(scope, id);

    this.key = new kms.Key(this, 'TopicKey', {
      description: 'Encrypts the egress spike detector topics',
      enableKeyRotation: true,
      // Deleting the stack schedules the key for deletion (7-30 days), it is not destroyed at once.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // CloudWatch alarms publish to the encrypted topic; the AWS-managed SNS key cannot allow this.
    // Only for alarms of this account and Region (alarms notify topics of their own Region only):
    // CloudWatch passes both keys to KMS, unlike EventBridge, where they must not be used.
    const stack = Stack.of(this);
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToUseTheKey',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );

    const central = props.central;
    if (central !== undefined && !central.home) {
      // Alerts go to the central topic; alarms need a topic of this Region: the operations
      // emails, or else the alert emails, subscribe to it.
      this.alertTopic = sns.Topic.fromTopicArn(
        this,
        'CentralAlertTopic',
        `arn:${stack.partition}:sns:${central.region}:${stack.account}:${central.topicName}`,
      );
      if (props.operationsTopicArn !== undefined) {
        this.operationsTopic = sns.Topic.fromTopicArn(this, 'OperationsTopic', props.operationsTopicArn);
        return;
      }
      const topic = this.encryptedTopic('OperationsTopic', 'Egress spike detector operations');
      const emails = (props.operationsEmails ?? []).length > 0 ? props.operationsEmails : props.alertEmails;
      for (const email of emails ?? []) topic.addSubscription(new subscriptions.EmailSubscription(email));
      this.operationsTopic = topic;
      this.ownOperationsTopic = topic;
      return;
    }

    const alertTopic = this.encryptedTopic('AlertTopic', 'Egress spike detector', central?.topicName);
    this.alertTopic = alertTopic;
    for (const email of props.alertEmails ?? []) {
      alertTopic.addSubscription(new subscriptions.EmailSubscription(email));
    }

    if (props.slack !== undefined) {
      // The channel only receives notifications: the role has no permissions, and the guardrail
      // caps whatever a channel member could ever do at reading CloudWatch.
      const role = new iam.Role(this, 'ChatbotRole', {
        assumedBy: new iam.ServicePrincipal('chatbot.amazonaws.com'),
        description: 'AWS Chatbot channel role for detector alerts: notifications only, no permissions',
      });
      this.slackChannel = new chatbot.SlackChannelConfiguration(this, 'SlackChannel', {
        slackChannelConfigurationName: props.chatbotConfigurationName,
        slackWorkspaceId: props.slack.workspaceId,
        slackChannelId: props.slack.channelId,
        notificationTopics: [this.alertTopic],
        role,
        guardrailPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('CloudWatchReadOnlyAccess')],
        userRoleRequired: false,
        // Chatbot drops a notification it cannot deliver or read without a word anywhere; at ERROR
        // it says why in its log group (/aws/chatbot/<name>, in us-east-1).
        loggingLevel: chatbot.LoggingLevel.ERROR,
      });
    }

    if (props.operationsTopicArn !== undefined) {
      this.operationsTopic = sns.Topic.fromTopicArn(this, 'OperationsTopic', props.operationsTopicArn);
    } else if ((props.operationsEmails ?? []).length > 0) {
      const topic = this.encryptedTopic('OperationsTopic', 'Egress spike detector operations');
      for (const email of props.operationsEmails ?? []) {
        topic.addSubscription(new subscriptions.EmailSubscription(email));
      }
      this.operationsTopic = topic;
      this.ownOperationsTopic = topic;
    } else {
      this.operationsTopic = alertTopic;
    }
  }

  private encryptedTopic(id: string, displayName: string, topicName?: string): sns.Topic {
    const topic = new sns.Topic(this, id, {
      displayName,
      masterKey: this.key,
      enforceSSL: true,
      ...(topicName === undefined ? {} : { topicName }),
    });
    // enforceSSL writes a topic policy, which replaces SNS's default one: allow alarms explicitly.
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    return topic;
  }
}
