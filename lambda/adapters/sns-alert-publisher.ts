/**
 * Publishes alerts to the SNS topic as one `MessageStructure: json` message each (see
 * alert-format.ts for what each subscriber protocol receives).
 */
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Alert } from '../core';
import {
  AlertTooLargeError,
  buildSnsMessage,
  consoleLogGroupsFor,
  type AlertFormatContext,
} from './alert-format';
import type { AlertPublisher } from './ports';

/**
 * Lets the client's retry strategy take SNS's `KMSThrottling` (HTTP 400, "The request was denied
 * due to request throttling": KMS throttled the encrypted topic's key) for the throttle it is.
 * The SDK retries `Throttled` (429) but not this code, so one transient throttle of the key failed
 * the publish, and with it the run. Marked so, it is retried with the same backoff and attempts.
 */
export function retryKmsThrottling<C extends Pick<SNSClient, 'middlewareStack'>>(client: C): C {
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        const name = (error as { name?: unknown } | null)?.name;
        if (name === 'KMSThrottlingException' || name === 'KMSThrottling')
          (error as { $retryable?: { throttling: boolean } }).$retryable = { throttling: true };
        throw error;
      }
    },
    // In the deserialize step, above the deserializer (it sees the error as the SDK names it) and
    // below the retry middleware (finalizeRequest), which reads `$retryable`.
    { step: 'deserialize', priority: 'high', name: 'retryKmsThrottling' },
  );
  return client;
}

/**
 * Whether SNS refused the publish: an error it answered as the caller's fault (HTTP 4xx, e.g.
 * `InvalidParameter`, `AuthorizationError`, `NotFound`, `KMSDisabled`) that is not a throttle.
 * The same message would be refused again; a throttle, a server error or a network failure
 * (no answer) may pass on another try.
 */
export function isRefusal(error: unknown): boolean {
  const e = error as { $fault?: unknown; $retryable?: unknown; name?: unknown } | null;
  if (e === null || typeof e !== 'object' || e.$fault !== 'client' || e.$retryable !== undefined)
    return false;
  return typeof e.name !== 'string' || !/throttl/i.test(e.name);
}

export class AlertPublishError extends Error {
  /**
   * SNS refused the message (isRefusal), or it cannot be made small enough for SNS
   * (AlertTooLargeError): trying it again is likely to meet the same answer.
   */
  readonly refused: boolean;

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
    this.refused = options.cause instanceof AlertTooLargeError || isRefusal(options.cause);
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
    const logGroupIdentifiers = consoleLogGroupsFor(
      await this.consoleLogGroups(),
      (alert as { accountId?: string }).accountId,
    );
    try {
      // Inside the try: an alert too large even with every list cut is refused like one SNS
      // refuses (AlertPublishError.refused), so it is parked, not tried again by every run.
      const message = buildSnsMessage(alert, {
        ...this.options.format,
        logGroupIdentifiers,
        test: options.test === true,
      });
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
