/**
 * A local SNS endpoint for tests: speaks the AWS Query protocol of `Publish` as the real
 * `@aws-sdk/client-sns` sends it (form-encoded request, XML response), captures every accepted
 * message, and enforces the limits a real topic would: 256 KB per message with subject and
 * attributes, the subject rules, the `MessageStructure: json` shape, attribute data types, and
 * known topics. Tests can make the next publishes fail.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  listenOnLoopback,
  localClientConfig,
  newRequestId,
  readBody,
  type LocalClientConfig,
} from './local-endpoint';

export const SNS_LIMITS = {
  /** Message + subject + attribute names, types and values, in UTF-8 bytes. */
  maxMessageBytes: 262_144,
  /** Subjects must be shorter than this. */
  maxSubjectLength: 100,
  maxAttributeNameLength: 256,
} as const;

/** Keys a `MessageStructure: json` message may carry besides `default`. */
export const SNS_PROTOCOL_KEYS = [
  'default',
  'http',
  'https',
  'email',
  'email-json',
  'sms',
  'sqs',
  'application',
  'lambda',
  'firehose',
  // Mobile push platforms (the `application` protocol's per-platform payloads).
  'APNS',
  'APNS_SANDBOX',
  'APNS_VOIP',
  'APNS_VOIP_SANDBOX',
  'MACOS',
  'MACOS_SANDBOX',
  'GCM',
  'ADM',
  'BAIDU',
  'MPNS',
  'WNS',
] as const;

export interface CapturedAttribute {
  dataType: string;
  stringValue?: string;
  binaryValue?: string;
}

/** One accepted Publish. */
export interface CapturedPublish {
  messageId: string;
  topicArn: string;
  subject: string | undefined;
  /** The Message parameter as sent. */
  message: string;
  messageStructure: string | undefined;
  /** With `MessageStructure: json`: the per-protocol messages (`default`, `email`, ...). */
  perProtocol: Record<string, string> | undefined;
  attributes: Record<string, CapturedAttribute>;
}

/** Error codes the endpoint can be told to answer with, and their HTTP statuses. */
export type InjectedSnsError =
  'InternalError' | 'Throttled' | 'Throttling' | 'KMSThrottling' | 'AuthorizationError' | 'KMSDisabled';
const INJECTED_STATUS: Record<InjectedSnsError, number> = {
  InternalError: 500,
  Throttled: 429,
  Throttling: 400,
  // An encrypted topic whose KMS key is throttled (Publish's KMSThrottlingException).
  KMSThrottling: 400,
  // Refusals (Publish's documented errors): the topic policy denies the caller; the topic's key
  // is disabled. The same request meets the same answer.
  AuthorizationError: 403,
  KMSDisabled: 400,
};

export interface LocalSnsOptions {
  /** Topic ARNs that exist; Publish to any other answers NotFound. */
  topics: readonly string[];
  /**
   * FIFO topics (of `topics`) with `ContentBasedDeduplication` on: a Publish to them needs no
   * MessageDeduplicationId. @default none
   */
  contentBasedDeduplication?: readonly string[];
}

export interface LocalSns {
  endpoint: string;
  /** Accepted publishes, oldest first. */
  readonly published: readonly CapturedPublish[];
  /** Publish requests received, rejected and failed ones included. */
  readonly publishCalls: number;
  /** Requests rejected by validation, with the error code and message, oldest first. */
  readonly rejected: readonly { code: string; message: string }[];
  /** The next `count` Publish calls fail with `code` (InternalError: HTTP 500) before validation. */
  failNextPublishes(count: number, code?: InjectedSnsError): void;
  addTopic(topicArn: string): void;
  /** Forgets captured messages, counters and pending failures; topics stay. */
  reset(): void;
  clientConfig(): LocalClientConfig;
  stop(): Promise<void>;
}

export function localSnsClientConfig(endpoint: string): LocalClientConfig {
  return localClientConfig(endpoint);
}

class SnsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus = 400,
  ) {
    super(message);
    this.name = code;
  }
}

const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;
const ATTRIBUTE_NAME = /^[A-Za-z0-9_.-]+$/;

export async function startLocalSns(options: LocalSnsOptions): Promise<LocalSns> {
  const topics = new Set<string>();
  const addTopic = (arn: string): void => {
    if (!TOPIC_ARN.test(arn)) throw new Error(`invalid topic ARN ${JSON.stringify(arn)}`);
    topics.add(arn);
  };
  options.topics.forEach(addTopic);

  let published: CapturedPublish[] = [];
  let rejected: { code: string; message: string }[] = [];
  let publishCalls = 0;
  let failures: { code: InjectedSnsError; remaining: number }[] = [];
  let messageCounter = 0;

  const publish = (params: URLSearchParams): CapturedPublish => {
    publishCalls += 1;
    const failure = failures.find((f) => f.remaining > 0);
    if (failure !== undefined) {
      failure.remaining -= 1;
      throw new SnsError(failure.code, `Injected ${failure.code}`, INJECTED_STATUS[failure.code]);
    }
    if (params.get('TargetArn') !== null || params.get('PhoneNumber') !== null) {
      throw new SnsError(
        'InvalidParameter',
        'Invalid parameter: only TopicArn is supported by this endpoint',
      );
    }
    const topicArn = params.get('TopicArn');
    if (topicArn === null || topicArn.length === 0) {
      throw new SnsError(
        'InvalidParameter',
        'Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter',
      );
    }
    if (!TOPIC_ARN.test(topicArn))
      throw new SnsError('InvalidParameter', `Invalid parameter: TopicArn ${topicArn}`);
    if (!topics.has(topicArn)) throw new SnsError('NotFound', 'Topic does not exist', 404);
    // A FIFO topic orders and deduplicates by these: SNS refuses a Publish without them.
    if (topicArn.endsWith('.fifo')) {
      if ((params.get('MessageGroupId') ?? '') === '') {
        throw new SnsError(
          'InvalidParameter',
          'Invalid parameter: The MessageGroupId parameter is required for FIFO topics',
        );
      }
      if (
        (params.get('MessageDeduplicationId') ?? '') === '' &&
        !(options.contentBasedDeduplication ?? []).includes(topicArn)
      ) {
        throw new SnsError(
          'InvalidParameter',
          'Invalid parameter: The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly',
        );
      }
    }

    const message = params.get('Message');
    if (message === null || message.length === 0) {
      throw new SnsError('InvalidParameter', 'Invalid parameter: Empty message');
    }
    const subject = params.get('Subject') ?? undefined;
    if (subject !== undefined) {
      if (subject.trim().length === 0)
        throw new SnsError('InvalidParameter', 'Invalid parameter: Subject must not be empty');
      if ([...subject].length >= SNS_LIMITS.maxSubjectLength) {
        throw new SnsError(
          'InvalidParameter',
          `Invalid parameter: Subject must be less than ${SNS_LIMITS.maxSubjectLength} characters`,
        );
      }
      if (hasControlCharacter(subject)) {
        throw new SnsError(
          'InvalidParameter',
          'Invalid parameter: Subject must not contain line breaks or control characters',
        );
      }
    }

    const messageStructure = params.get('MessageStructure') ?? undefined;
    let perProtocol: Record<string, string> | undefined;
    if (messageStructure !== undefined) {
      if (messageStructure !== 'json') {
        throw new SnsError(
          'InvalidParameter',
          `Invalid parameter: MessageStructure must be "json", got ${JSON.stringify(messageStructure)}`,
        );
      }
      perProtocol = parsePerProtocol(message);
    }

    const attributes = parseAttributes(params);
    const size =
      Buffer.byteLength(message, 'utf8') +
      Buffer.byteLength(subject ?? '', 'utf8') +
      Object.entries(attributes).reduce(
        (sum, [name, value]) =>
          sum +
          Buffer.byteLength(name, 'utf8') +
          Buffer.byteLength(value.dataType, 'utf8') +
          Buffer.byteLength(value.stringValue ?? '', 'utf8') +
          (value.binaryValue === undefined ? 0 : Buffer.from(value.binaryValue, 'base64').length),
        0,
      );
    if (size > SNS_LIMITS.maxMessageBytes) {
      throw new SnsError(
        'InvalidParameter',
        `Invalid parameter: Message too long: ${size} bytes with subject and attributes, over ${SNS_LIMITS.maxMessageBytes}`,
      );
    }

    messageCounter += 1;
    const captured: CapturedPublish = {
      messageId: `00000000-0000-4000-a000-${messageCounter.toString(16).padStart(12, '0')}`,
      topicArn,
      subject,
      message,
      messageStructure,
      perProtocol,
      attributes,
    };
    published.push(captured);
    return captured;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const params = new URLSearchParams((await readBody(req)).toString('utf8'));
    try {
      const action = params.get('Action');
      if (req.method !== 'POST' || action !== 'Publish') {
        throw new SnsError(
          'InvalidAction',
          `The action ${action ?? '(none)'} is not valid for this endpoint`,
        );
      }
      if (params.get('Version') !== '2010-03-31') {
        throw new SnsError(
          'InvalidParameter',
          `Invalid parameter: Version ${params.get('Version') ?? '(none)'}`,
        );
      }
      const { messageId } = publish(params);
      sendXml(
        res,
        200,
        `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>${messageId}</MessageId></PublishResult><ResponseMetadata><RequestId>${newRequestId()}</RequestId></ResponseMetadata></PublishResponse>`,
      );
    } catch (error) {
      if (!(error instanceof SnsError)) throw error;
      if (error.httpStatus === 400 && error.code !== 'Throttling')
        rejected.push({ code: error.code, message: error.message });
      const type = error.httpStatus >= 500 ? 'Receiver' : 'Sender';
      sendXml(
        res,
        error.httpStatus,
        `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>${type}</Type><Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message></Error><RequestId>${newRequestId()}</RequestId></ErrorResponse>`,
      );
    }
  };

  const server = await listenOnLoopback(handle);

  return {
    endpoint: server.endpoint,
    get published() {
      return [...published];
    },
    get publishCalls() {
      return publishCalls;
    },
    get rejected() {
      return [...rejected];
    },
    failNextPublishes(count, code = 'InternalError') {
      if (!Number.isInteger(count) || count < 1)
        throw new RangeError(`count must be a positive integer, got ${count}`);
      failures.push({ code, remaining: count });
    },
    addTopic,
    reset() {
      published = [];
      rejected = [];
      publishCalls = 0;
      failures = [];
    },
    clientConfig: () => localClientConfig(server.endpoint),
    stop: () => server.stop(),
  };
}

function parsePerProtocol(message: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    throw new SnsError(
      'InvalidParameter',
      'Invalid parameter: Message Structure - JSON message body failed to parse',
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SnsError(
      'InvalidParameter',
      'Invalid parameter: Message Structure - JSON message body must be an object',
    );
  }
  // "Duplicate keys are not allowed" (JSON.parse would keep the last one).
  const duplicate = duplicateTopLevelKey(message);
  if (duplicate !== undefined) {
    throw new SnsError(
      'InvalidParameter',
      `Invalid parameter: Message Structure - duplicate key ${JSON.stringify(duplicate)} in JSON message body`,
    );
  }
  if (typeof (parsed as Record<string, unknown>).default !== 'string') {
    throw new SnsError(
      'InvalidParameter',
      'Invalid parameter: Message Structure - No default entry in JSON message body',
    );
  }
  // "Keys that do not correspond to supported transport protocols are ignored", and "non-string
  // values will cause the key to be ignored".
  const known = new Set<string>(SNS_PROTOCOL_KEYS);
  return Object.fromEntries(
    Object.entries(parsed).filter(([key, value]) => known.has(key) && typeof value === 'string'),
  ) as Record<string, string>;
}

/** The first key the top-level object of valid JSON `text` holds twice, if any. */
function duplicateTopLevelKey(text: string): string | undefined {
  const keys = new Set<string>();
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
        expectKey = false;
      }
      i = end;
    } else if (c === '{' || c === '[') {
      depth += 1;
      expectKey = depth === 1 && c === '{';
    } else if (c === '}' || c === ']') depth -= 1;
    else if (c === ',' && depth === 1) expectKey = true;
  }
  return undefined;
}

/** `MessageAttributes.entry.N.Name` / `.Value.DataType` / `.Value.StringValue` / `.Value.BinaryValue`. */
function parseAttributes(params: URLSearchParams): Record<string, CapturedAttribute> {
  const entries = new Map<string, Record<string, string>>();
  for (const [key, value] of params) {
    const match =
      /^MessageAttributes\.entry\.(\d+)\.(Name|Value\.DataType|Value\.StringValue|Value\.BinaryValue)$/.exec(
        key,
      );
    if (match === null) {
      if (key.startsWith('MessageAttributes.'))
        throw new SnsError('InvalidParameter', `Invalid parameter: ${key}`);
      continue;
    }
    const index = match[1] as string;
    const entry = entries.get(index) ?? {};
    entry[match[2] as string] = value;
    entries.set(index, entry);
  }
  const attributes: Record<string, CapturedAttribute> = {};
  for (const entry of entries.values()) {
    const name = entry.Name;
    if (name === undefined || name.length === 0) {
      throw new SnsError('InvalidParameter', 'Invalid parameter: Message attribute name must not be empty');
    }
    if (
      name.length > SNS_LIMITS.maxAttributeNameLength ||
      !ATTRIBUTE_NAME.test(name) ||
      /^(aws\.|amazon\.)/i.test(name) ||
      name.startsWith('.') ||
      name.endsWith('.') ||
      name.includes('..')
    ) {
      throw new SnsError(
        'InvalidParameter',
        `Invalid parameter: Message attribute name ${JSON.stringify(name)} is not valid`,
      );
    }
    if (name in attributes) {
      throw new SnsError(
        'InvalidParameter',
        `Invalid parameter: Message attribute ${JSON.stringify(name)} appears twice`,
      );
    }
    const dataType = entry['Value.DataType'];
    const stringValue = entry['Value.StringValue'];
    const binaryValue = entry['Value.BinaryValue'];
    const baseType = dataType?.split('.')[0];
    const invalid = (why: string): SnsError =>
      new SnsError('ParameterValueInvalid', `The message attribute '${name}' ${why}`);
    if (dataType === undefined) throw invalid('must have a DataType');
    if (dataType === 'String.Array') {
      if (stringValue === undefined) throw invalid('with type String.Array must have a StringValue');
      let array: unknown;
      try {
        array = JSON.parse(stringValue);
      } catch {
        array = undefined;
      }
      if (!Array.isArray(array) || array.some((item) => item !== null && typeof item === 'object')) {
        throw invalid('with type String.Array must be a JSON array of strings, numbers, booleans or nulls');
      }
    } else if (baseType === 'String') {
      if (stringValue === undefined || stringValue.length === 0)
        throw invalid('with type String must have a non-empty value');
    } else if (baseType === 'Number') {
      if (stringValue === undefined || !/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(stringValue)) {
        throw invalid(`with type Number has a non-numeric value ${JSON.stringify(stringValue ?? '')}`);
      }
    } else if (baseType === 'Binary') {
      if (binaryValue === undefined || binaryValue.length === 0)
        throw invalid('with type Binary must have a BinaryValue');
    } else {
      throw invalid(
        `has an invalid type ${JSON.stringify(dataType)}: use String, String.Array, Number or Binary`,
      );
    }
    attributes[name] = {
      dataType,
      ...(stringValue === undefined ? {} : { stringValue }),
      ...(binaryValue === undefined ? {} : { binaryValue }),
    };
  }
  return attributes;
}

/** Line breaks and the other C0 controls, and DEL. */
function hasControlCharacter(text: string): boolean {
  return [...text].some((c) => {
    const code = c.codePointAt(0) ?? 0;
    return code < 0x20 || code === 0x7f;
  });
}

function sendXml(res: ServerResponse, status: number, body: string): void {
  res.statusCode = status;
  res.setHeader('x-amzn-RequestId', newRequestId());
  res.setHeader('Content-Type', 'text/xml');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

function escapeXml(text: string): string {
  return text.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c,
  );
}
