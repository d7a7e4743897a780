/**
 * Publishes alerts to the SNS topic as one `MessageStructure: json` message each (see
 * alert-format.ts for what each subscriber protocol receives).
 */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Alert } from '../core';
import { buildSnsMessage, consoleLogGroupsFor, type AlertFormatContext } from './alert-format';
import type { AlertPublisher } from './ports';

export class AlertPublishError extends Error {
  constructor(
    readonly alertId: string,
    readonly topicArn: string,
    options: { cause: unknown },
  ) {
    super(
      `publishing alert ${alertId} to ${topicArn} failed: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`,
      options,
    );
    this.name = 'AlertPublishError';
  }
}

export interface SnsAlertPublisherOptions {
  client: Pick<SNSClient, 'send'>;
  topicArn: string;
  format: Omit<AlertFormatContext, 'test'>;
  /**
   * The log groups the run queried (discovered ones included), for the console link; when absent
   * or failing, `format.logGroupIdentifiers`.
   */
  consoleLogGroups?: () => Promise<readonly string[]>;
}

export class SnsAlertPublisher implements AlertPublisher {
  constructor(private readonly options: SnsAlertPublisherOptions) {}

  async publish(alert: Alert, options: { test?: boolean } = {}): Promise<string> {
    const message = buildSnsMessage(alert, {
      ...this.options.format,
      logGroupIdentifiers: consoleLogGroupsFor(
        await this.consoleLogGroups(),
        (alert as { accountId?: string }).accountId,
      ),
      test: options.test === true,
    });
    try {
      const response = await this.options.client.send(
        new PublishCommand({
          TopicArn: this.options.topicArn,
          Subject: message.subject,
          Message: message.message,
          MessageStructure: 'json',
          MessageAttributes: message.attributes,
        }),
      );
      return response.MessageId ?? '';
    } catch (error) {
      throw new AlertPublishError(alert.alertId, this.options.topicArn, { cause: error });
    }
  }

  private async consoleLogGroups(): Promise<readonly string[]> {
    if (this.options.consoleLogGroups === undefined) return this.options.format.logGroupIdentifiers;
    try {
      return await this.options.consoleLogGroups();
    } catch {
      // Discovery failing makes the run fail with its own error; the alert still goes out.
      return this.options.format.logGroupIdentifiers;
    }
  }
}
