import fc from 'fast-check';
import {
  MAX_SUBJECT_LENGTH,
  SNS_MAX_MESSAGE_BYTES,
  alertSubject,
  buildSnsMessage,
  consoleQueryFor,
  fitAlert,
  fitAlertList,
  MAX_STORED_ALERT_BYTES,
  escapeSlackText,
  withoutLinks,
  logsInsightsConsoleUrl,
  sampleTestAlert,
  type ChatbotNotification,
  type PublishedAlert,
  type SnsAlertAttributes,
  type StoredAlert,
} from '../../lambda/adapters/alert-format';
import { resolveDetectorConfig, type Alert } from '../../lambda/core';
import { decodeConsoleUrl } from '../support/console-url';

const context = {
  region: 'eu-west-1',
  logGroupIdentifiers: ['/vpc/flow-logs', 'arn:aws:logs:eu-west-1:123456789012:log-group:/other/flows'],
};

function spikeAlert(overrides: Partial<Alert> = {}): Alert {
  return {
    alertId: '2026-11-27T09:00:00Z/10.0.1.23',
    kind: 'spike',
    preset: 'recommended',
    severity: 'high',
    windowStart: '2026-11-27T09:00:00Z',
    windowEnd: '2026-11-27T10:00:00Z',
    srcIp: '10.0.1.23',
    blockedCount: 412,
    uniqueDestinations: 37,
    baseline: { mean: 12.3, sd: 4.1, dataPoints: 720 },
    zScore: 97.56,
    tailProbability: 1.2e-40,
    threshold: 4.6e-5,
    details: {
      topDestinations: [
        { address: '203.0.113.5', port: 443, protocol: 6, count: 120 },
        { address: '2001:db8::7', port: 53, protocol: 17, count: 80 },
      ],
      totalDestinations: 37,
      interfaceIds: ['eni-0abc1234def567890'],
    },
    ...overrides,
  };
}

function massSpike(members: number): Alert {
  const list = Array.from({ length: members }, (_, i) => ({
    srcIp: `10.${Math.floor(i / 65536) % 256}.${Math.floor(i / 256) % 256}.${i % 256}`,
    blockedCount: 1000 - (i % 1000),
    zScore: 9.5,
  }));
  return {
    alertId: '2026-11-27T09:00:00Z/mass-spike',
    kind: 'mass-spike',
    preset: 'recommended',
    severity: 'medium',
    windowStart: '2026-11-27T09:00:00Z',
    windowEnd: '2026-11-27T10:00:00Z',
    srcIps: list.map((m) => m.srcIp),
    blockedCount: list.reduce((s, m) => s + m.blockedCount, 0),
    uniqueDestinations: null,
    baseline: null,
    zScore: null,
    members: list,
  };
}

const protocols = (message: string) => JSON.parse(message) as Record<string, string>;

describe('buildSnsMessage', () => {
  it('carries the Chatbot notification under default and https, text under email, raw JSON under sqs and lambda, the subject under sms', () => {
    // Act
    const built = buildSnsMessage(spikeAlert(), context);

    // Assess
    const body = protocols(built.message);
    expect(Object.keys(body).sort()).toEqual(['default', 'email', 'https', 'lambda', 'sms', 'sqs']);
    // A text message gets the subject line, not kilobytes of JSON.
    expect(body.sms).toBe(built.subject);
    expect(body.default).toBe(body.https);
    const chat = JSON.parse(body.default!) as ChatbotNotification;
    expect(chat).toMatchObject({
      version: '1.0',
      source: 'custom',
      id: `${context.region}/2026-11-27T09:00:00Z/10.0.1.23`,
      content: { textType: 'client-markdown' },
      metadata: {
        eventType: 'BlockedEgressSpike',
        additionalContext: { srcIp: '10.0.1.23', blockedCount: '412' },
      },
    });
    expect(chat.content.title).toContain('10.0.1.23');
    expect(chat.content.description).toContain('*Blocked records:* 412 to 37 destinations');
    expect(chat.content.description).toContain('203.0.113.5:443/tcp: 120');
    expect(chat.content.nextSteps[0]).toMatch(
      /^Open the <https:\/\/eu-west-1\.console\.aws\.amazon\.com\/cloudwatch\/home\?region=eu-west-1#logsV2:logs-insights\S+\|Logs Insights query for this window>$/,
    );
    const raw = JSON.parse(body.sqs!) as PublishedAlert;
    expect(body.lambda).toBe(body.sqs);
    expect(raw).toMatchObject({ ...spikeAlert(), consoleUrl: expect.stringContaining('logs-insights') });
    expect(body.email).toContain('Blocked records:     412');
    expect(body.email).toContain('[2001:db8::7]:53/udp');
    expect(body.email).toContain(raw.consoleUrl);
    expect(built.attributes).toEqual({
      severity: { DataType: 'String', StringValue: 'high' },
      kind: { DataType: 'String', StringValue: 'spike' },
      srcIp: { DataType: 'String', StringValue: '10.0.1.23' },
      region: { DataType: 'String', StringValue: 'eu-west-1' },
      accountSrcIp: { DataType: 'String', StringValue: '-|10.0.1.23' },
    });
    expect(raw.region).toBe('eu-west-1');
  });

  it('says what a grown job usually is, with how much its runs vary where it keeps that, in email and Slack', () => {
    const job = {
      period: 'weekly' as const,
      at: 'Wed 02:00',
      timezone: 'Europe/Berlin',
      usualSize: 140.4,
      occurrences: 5,
    };
    const varying = protocols(
      buildSnsMessage(spikeAlert({ recurringJob: { ...job, usualSpread: 45 } }), context).message,
    );
    const line = 'weekly job, Wed 02:00 (Europe/Berlin), usually ~140 ± 45; now 412';
    expect(varying.email).toContain(line);
    // Slack reads ~ as strikethrough: escapeSlackText writes its full-width twin.
    expect((JSON.parse(varying.default!) as ChatbotNotification).content.description).toContain(
      line.replace('~', '\uFF5E'),
    );
    expect((JSON.parse(varying.sqs!) as PublishedAlert).recurringJob).toEqual({ ...job, usualSpread: 45 });
    // Without a spread (a job learnt before it, or from too few runs): the usual size alone.
    const steady = protocols(buildSnsMessage(spikeAlert({ recurringJob: job }), context).message);
    expect(steady.email).toContain('weekly job, Wed 02:00 (Europe/Berlin), usually ~140; now 412');
  });

  it('cuts a huge destination list to fit 256 KB and keeps the total', () => {
    // Prepare: 20,000 destinations is several megabytes of JSON rendered five ways.
    const destinations = Array.from({ length: 20_000 }, (_, i) => ({
      address: `198.51.${Math.floor(i / 256) % 256}.${i % 256}`,
      port: 1024 + (i % 60000),
      protocol: 6,
      count: 20_000 - i,
    }));
    const alert = spikeAlert({
      details: {
        topDestinations: destinations,
        totalDestinations: 20_000,
        interfaceIds: ['eni-0abc1234def567890'],
      },
    });

    // Act
    const built = buildSnsMessage(alert, context);

    // Assess
    const subjectBytes = Buffer.byteLength(built.subject);
    expect(built.bytes + subjectBytes).toBeLessThanOrEqual(SNS_MAX_MESSAGE_BYTES);
    expect(built.bytes).toBeGreaterThan(SNS_MAX_MESSAGE_BYTES / 2); // cut to fit, not to nothing
    const raw = JSON.parse(protocols(built.message).sqs!) as PublishedAlert;
    const shown = raw.details!.topDestinations.length;
    expect(shown).toBeLessThan(20_000);
    expect(raw.details!.totalDestinations).toBe(20_000);
    expect(raw.truncated).toEqual({ topDestinations: { shown, total: 20_000 } });
    expect(raw.details!.topDestinations[0]).toEqual(destinations[0]); // the largest are kept
    expect(protocols(built.message).email).toContain(
      `Top destinations (${shown} of 20,000, list cut to fit the message size)`,
    );
  });

  it('cuts a mass spike of 10,000 members, keeps the total and sends srcIp as a String.Array', () => {
    // Act
    const built = buildSnsMessage(massSpike(10_000), context);

    // Assess
    expect(built.bytes).toBeLessThanOrEqual(SNS_MAX_MESSAGE_BYTES);
    const raw = JSON.parse(protocols(built.message).sqs!) as PublishedAlert;
    expect(raw.truncated?.members?.total).toBe(10_000);
    expect(raw.truncated?.srcIps?.total).toBe(10_000);
    expect(raw.members!.length).toBe(raw.truncated!.members!.shown);
    expect(built.attributes.srcIp.DataType).toBe('String.Array');
    const ips = JSON.parse(built.attributes.srcIp.StringValue) as string[];
    expect(ips.length).toBe(100);
    expect(ips[0]).toBe('10.0.0.0');
    const chat = JSON.parse(protocols(built.message).default!) as ChatbotNotification;
    expect(chat.content.description).toContain('*Sources* (top 10 of 10,000)');
  });
});

describe('fitAlert', () => {
  it('cuts a mass spike of 20,000 members to fit an outbox item, and publishing keeps the recorded totals', () => {
    // Act
    const stored = fitAlert(massSpike(20_000));
    const built = buildSnsMessage(JSON.parse(JSON.stringify(stored)) as Alert, context);

    // Assess
    expect(Buffer.byteLength(JSON.stringify(stored))).toBeLessThanOrEqual(MAX_STORED_ALERT_BYTES);
    expect(stored.truncated?.members).toEqual({ shown: stored.members!.length, total: 20_000 });
    expect(stored.blockedCount).toBe(massSpike(20_000).blockedCount);
    const raw = JSON.parse(protocols(built.message).sqs!) as PublishedAlert;
    expect(raw.truncated?.members?.total).toBe(20_000);
    expect(protocols(built.message).email).toContain('of 20,000, list cut to fit the message size');
  });

  it('leaves an alert that fits untouched', () => {
    const alert = spikeAlert();
    expect(fitAlert(alert)).toBe(alert);
  });
});

describe("fitAlertList (a dry run answer under Lambda's 6 MB)", () => {
  it('cuts each alert as the outbox does, then keeps the first that fit and says how many of how many', () => {
    // Prepare: ten mass spikes of 20,000 members (about 1.2 MB of JSON each).
    const alerts: StoredAlert[] = Array.from({ length: 10 }, () => massSpike(20_000));

    // Act
    const fitted = fitAlertList(alerts, 1_000_000);

    // Assess
    expect(Buffer.byteLength(JSON.stringify(fitted.alerts))).toBeLessThanOrEqual(1_000_000);
    expect(fitted.cut).toEqual({ shown: 3, total: 10 });
    expect(fitted.alerts).toHaveLength(3);
    for (const alert of fitted.alerts) {
      expect(Buffer.byteLength(JSON.stringify(alert))).toBeLessThanOrEqual(MAX_STORED_ALERT_BYTES);
      expect(alert.truncated?.members?.total).toBe(20_000);
    }
  });

  it('returns a list that fits as it is, with no cut', () => {
    const alerts = [spikeAlert(), massSpike(7)];
    expect(fitAlertList(alerts, 1_000_000)).toEqual({ alerts });
  });
});

describe('a console link too long for the message', () => {
  it('leaves the log groups out of the link, says so, and the alert still fits', () => {
    // Prepare: 50 log groups (the most a link names) with 512-character names: their link, five
    // times in the message, is about 150 KB; a limit of 100 KB stands for names of many `/`
    // (each written as 9 bytes), whose link is more than SNS's 256 KB on its own.
    const groups = Array.from(
      { length: 50 },
      (_, i) =>
        `arn:aws:logs:eu-west-1:123456789012:log-group:/${String(i).padStart(2, '0')}${'g'.repeat(509)}`,
    );

    // Act
    const message = buildSnsMessage(
      spikeAlert(),
      { region: 'eu-west-1', logGroupIdentifiers: groups },
      100_000,
    );

    // Assess
    const parsed = protocols(message.message);
    const raw = JSON.parse(parsed.sqs!) as PublishedAlert;
    expect(message.bytes).toBeLessThanOrEqual(100_000);
    expect(raw.truncated?.consoleLogGroups).toEqual({ shown: 0, total: 50 });
    expect(decodeConsoleUrl(raw.consoleUrl).source).toEqual([]);
    expect(parsed.email).toContain('choose the log groups: the names of 50 do not fit the message');
  });
});

describe('alertSubject', () => {
  it.each([
    ['a spike', spikeAlert(), '[HIGH] Blocked egress spike: 10.0.1.23 (412 blocked, 2026-11-27T09:00Z)'],
    [
      'a new source',
      spikeAlert({ kind: 'new-source', severity: 'low', baseline: null }),
      '[LOW] New source with blocked egress: 10.0.1.23 (412 blocked, 2026-11-27T09:00Z)',
    ],
    [
      'a mass spike',
      massSpike(7),
      expect.stringMatching(/^\[MEDIUM\] Mass blocked-egress spike: 7 sources \(/),
    ],
  ])('reads well for %s', (_name, alert, expected) => {
    expect(alertSubject(alert)).toEqual(expected);
  });

  it('stays under 100 characters with no line breaks or control characters, whatever the source text', () => {
    // Prepare: a hostile "address" (the formatter must not trust its input).
    const alert = spikeAlert({
      srcIp: `2001:db8:${'abcd:'.repeat(30)}\r\nBcc: victim@example.com\u0007\u001b[31m`,
    });

    // Act
    const subject = alertSubject(alert, { test: true });

    // Assess
    expect(subject.length).toBeLessThanOrEqual(MAX_SUBJECT_LENGTH);
    expect(subject).not.toMatch(/[\p{Cc}]/u);
    expect(subject.startsWith('[TEST] [HIGH] Blocked egress spike: 2001:db8:')).toBe(true);
    expect(subject.endsWith('...')).toBe(true);
  });
});

describe('alertSubject with any account name', () => {
  it('names an account whose name is not printable ASCII by its id; the body keeps the name', () => {
    // Prepare: 41 letters, a rocket, 5 letters: the rocket once sat across the subject's cut.
    const name = `${'a'.repeat(41)}\u{1F680}${'b'.repeat(5)}`;
    const alert = spikeAlert({ kind: 'new-source', accountId: '111111111111', accountName: name });

    // Act
    const subject = alertSubject(alert);
    const email = protocols(buildSnsMessage(alert, context).message).email!;

    // Assess
    expect(subject).toBe(
      '[HIGH] New source with blocked egress: 10.0.1.23 in 111111111111 (412 blocked, 2026-11-27T09:00Z)',
    );
    expect(email).toContain(`${name} (111111111111)`);
  });

  it('is printable ASCII of at most 99 characters that the SDK can encode, whatever the names and addresses', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 64 }),
        fc.string({ unit: 'binary', maxLength: 120 }),
        fc.constantFrom('spike', 'new-source') as fc.Arbitrary<Alert['kind']>,
        (accountName, srcIp, kind) => {
          const subject = alertSubject(spikeAlert({ kind, srcIp, accountId: '111111111111', accountName }));
          expect(subject.length).toBeLessThanOrEqual(MAX_SUBJECT_LENGTH);
          expect(subject).toMatch(/^[\x20-\x7e]+$/);
          // What the SDK's query serializer does with the subject: throws on half a character.
          expect(() => encodeURIComponent(subject)).not.toThrow();
        },
      ),
    );
  });
});

describe('lists and links the alert cannot show whole', () => {
  it('says in Slack how many interfaces and enriched interfaces there are when it shows only 10', () => {
    // Prepare: 25 interfaces, each enriched.
    const enis = Array.from({ length: 25 }, (_, i) => `eni-0${String(i).padStart(16, '0')}`);
    const alert = spikeAlert({
      details: {
        topDestinations: [],
        totalDestinations: 0,
        interfaceIds: enis,
        resources: Object.fromEntries(enis.map((eni) => [eni, { instanceId: 'i-0123456789abcdef0' }])),
      },
    });

    // Act
    const chat = JSON.parse(
      protocols(buildSnsMessage(alert, context).message).default!,
    ) as ChatbotNotification;

    // Assess
    const lines = chat.content.description.split('\n');
    expect(lines.find((l) => l.startsWith('*Interfaces*'))).toMatch(/^\*Interfaces\* \(10 of 25\): eni-0/);
    expect(lines.filter((l) => l.startsWith('• eni-0'))).toHaveLength(10);
    expect(lines).toContain('• and 15 more interfaces (in the email)');
  });

  it('counts the interfaces Slack leaves out among all of them, after the alert was cut to fit', () => {
    // Prepare: 3,000 enriched interfaces, cut as the outbox cuts them.
    const enis = Array.from({ length: 3_000 }, (_, i) => `eni-${String(i).padStart(17, '0')}`);
    const stored = fitAlert(
      spikeAlert({
        details: {
          topDestinations: [],
          totalDestinations: 0,
          interfaceIds: enis,
          resources: Object.fromEntries(
            enis.map((eni) => [eni, { instanceId: 'i-0123456789abcdef0', name: 'x'.repeat(200) }]),
          ),
        },
      }),
    );

    // Act
    const message = buildSnsMessage(stored, context);
    const chat = JSON.parse(protocols(message.message).default!) as ChatbotNotification;

    // Assess: the message cuts the list again; the email has what is left.
    const kept = Object.keys(message.alert.details!.resources!).length;
    expect(kept).toBeLessThan(Object.keys(stored.details!.resources!).length);
    const lines = chat.content.description.split('\n');
    expect(lines.find((l) => l.startsWith('*Interfaces*'))).toMatch(/^\*Interfaces\* \(10 of 3,000\): /);
    expect(lines).toContain(
      `• and 2,990 more interfaces (${kept.toLocaleString('en-US')} of them in the email)`,
    );
  });

  it('names Athena, not Logs Insights, in the email of an Athena deployment', () => {
    // Act
    const email = protocols(
      buildSnsMessage(spikeAlert(), {
        region: 'eu-west-1',
        logGroupIdentifiers: [],
        athena: { workGroup: 'egress' },
      }).message,
    ).email!;

    // Assess
    expect(email).not.toContain('Logs Insights');
    expect(email).toContain(
      'Investigate in the Athena query editor (the flow logs of this window):\nhttps://eu-west-1.console.aws.amazon.com/athena/home?region=eu-west-1#/query-editor?workgroup=egress',
    );
  });
});

describe('escapeSlackText', () => {
  it.each([
    ['<!channel> ping', '&lt;!channel&gt; ping'],
    ['<https://evil.example|click me>', '&lt;https:\u2215\u2215evil\u2024example|click me&gt;'],
    // Slack links bare URLs and host names too, and reads @here as a mention: lookalikes instead.
    [
      '@here reset at https://evil.example/aws-login',
      '\uFF20here reset at https:\u2215\u2215evil\u2024example/aws-login',
    ],
    [
      'mail ops@corp.example or www.evil.co.uk',
      'mail ops\uFF20corp\u2024example or www\u2024evil\u2024co\u2024uk',
    ],
    // A top-level domain in another script, and the dots a URL parser reads as '.'
    [
      'evil.\u0440\u0444 evil\u3002example evil\uFF0Eexample',
      'evil\u2024\u0440\u0444 evil\u2024example evil\u2024example',
    ],
    ['*bold* _it_ ~strike~ `code`', '\uFF0Abold\uFF0A \uFF3Fit\uFF3F \uFF5Estrike\uFF5E \uFF40code\uFF40'],
    ['> quoted & more', '&gt; quoted &amp; more'],
    ['line1\nline2\u0000', 'line1 line2 '],
    ['&amp;', '&amp;amp;'],
    // Bidirectional overrides and isolates would make the line read differently from its text.
    ['web-\u202Egnp.exe', 'web- gnp\u2024exe'],
    ['a\u2066b\u2069c\u200Fd', 'a b c d'],
  ])('makes %j inert', (input, expected) => {
    expect(escapeSlackText(input)).toBe(expected);
  });

  it('keeps addresses, ids, numbers and times as they are, to be copied', () => {
    const ours =
      '10.0.1.23 ::ffff:10.0.0.1 2001:db8::1 203.0.113.9:443 10.0.0.0/8 eni-0abc i-0123 0.44 sd 1.5 2026-11-27 09:00';
    expect(escapeSlackText(ours)).toBe(ours);
    expect(withoutLinks(ours)).toBe(ours);
  });

  it('escapes a hostile EC2 Name tag everywhere it appears in the Chatbot notification', () => {
    // Prepare
    const hostile = '<!here> *URGENT* `rm -rf` <https://evil.example|reset password>';
    const alert = spikeAlert({
      details: {
        topDestinations: [],
        totalDestinations: 0,
        interfaceIds: ['eni-0abc1234def567890'],
        resources: { 'eni-0abc1234def567890': { instanceId: 'i-0123456789abcdef0', name: hostile } },
      },
    });

    // Act
    const chat = JSON.parse(
      protocols(buildSnsMessage(alert, context).message).default!,
    ) as ChatbotNotification;

    // Assess
    const text = [chat.content.title, chat.content.description, ...chat.content.nextSteps].join('\n');
    expect(text).not.toContain('<!here>');
    expect(text).not.toContain('<https://evil');
    expect(text).not.toContain('evil.example');
    expect(text).not.toContain('`rm');
    expect(chat.content.description).toContain('name &lt;!here&gt; \uFF0AURGENT\uFF0A');
  });
});

describe('a Name tag with a URL in the email', () => {
  it('shows it as text a mail client does not turn into a link; the console link stays one', () => {
    // Prepare
    const alert = spikeAlert({
      details: {
        topDestinations: [],
        totalDestinations: 0,
        interfaceIds: ['eni-0abc1234def567890'],
        resources: { 'eni-0abc1234def567890': { name: 'reset at https://evil.example/aws-login' } },
      },
    });

    // Act
    const email = protocols(buildSnsMessage(alert, context).message).email!;

    // Assess
    expect(email).toContain('name reset at https:\u2215\u2215evil\u2024example/aws-login');
    expect(email).not.toContain('evil.example');
    expect(email).toMatch(
      /\nhttps:\/\/eu-west-1\.console\.aws\.amazon\.com\/cloudwatch\/home\?region=eu-west-1#logsV2:/,
    );
  });
});

describe('a mass spike repeated in a lasting episode', () => {
  it('says in the email and in Slack which members were alerted before and are in their cooldowns', () => {
    // Prepare: three members, the last two held back by cooldowns from the 08:00 alert
    const alert = massSpike(3);
    alert.members = alert.members!.map((m, i) =>
      i === 0 ? m : { ...m, lastAlertedAt: '2026-11-27T08:00:00Z' },
    );

    // Act
    const message = protocols(buildSnsMessage(alert, context).message);
    const chat = JSON.parse(message.default!) as ChatbotNotification;

    // Assess
    expect(message.email).toContain('Sources (3; 2 of them alerted before, held back by their cooldowns)');
    expect(message.email).toMatch(/\n {2}10\.0\.0\.0 +1,000 {2}z 9\.5\n/);
    expect(message.email).toMatch(/\n {2}10\.0\.0\.1 +999 {2}z 9\.5 {2}\(alerted 2026-11-27T08:00Z\)\n/);
    expect(chat.content.description).toContain(
      '*Sources* (top 3 of 3; 2 of them alerted before, held back by their cooldowns):',
    );
    expect(chat.content.description).toContain('• 10.0.0.0: 1,000\n');
    expect(chat.content.description).toContain('• 10.0.0.2: 998 (alerted 2026-11-27T08:00Z)');
  });

  it('counts them over the members listed when the list was cut to fit the message', () => {
    const alert = massSpike(3);
    alert.members = alert.members!.map((m) => ({ ...m, lastAlertedAt: '2026-11-27T08:00:00Z' }));
    const cut = { ...alert, truncated: { members: { shown: 3, total: 9 } } };
    const message = protocols(buildSnsMessage(cut, context).message);
    expect(message.email).toContain(
      'Sources (3 of 9, list cut to fit the message size; 3 of those listed alerted before',
    );
  });

  it('counts in Slack over the members Slack lists (the top ten)', () => {
    // Prepare: 30 members, the ten largest new, the rest held back
    const alert = massSpike(30);
    alert.members = alert.members!.map((m, i) =>
      i < 10 ? m : { ...m, lastAlertedAt: '2026-11-27T08:00:00Z' },
    );
    alert.members[3] = { ...alert.members[3]!, lastAlertedAt: '2026-11-27T08:00:00Z' };

    // Act
    const message = protocols(buildSnsMessage(alert, context).message);
    const chat = JSON.parse(message.default!) as ChatbotNotification;

    // Assess: Slack counts the one of its ten, the email all 21
    expect(chat.content.description).toContain(
      '*Sources* (top 10 of 30; 1 of those listed alerted before, held back by their cooldowns):',
    );
    expect(message.email).toContain('Sources (30; 21 of them alerted before, held back by their cooldowns)');
  });

  it('says nothing of it where every member is new', () => {
    const message = protocols(buildSnsMessage(massSpike(3), context).message);
    expect(message.email).toContain('Sources (3); likely');
    expect(message.email).not.toContain('alerted');
    expect(message.default).not.toContain('alerted');
  });
});

describe('logsInsightsConsoleUrl', () => {
  it('encodes region, log groups, time range and query so that the console decodes them back', () => {
    // Prepare
    const query = consoleQueryFor({ srcIp: '10.0.1.23' });

    // Act
    const url = logsInsightsConsoleUrl({
      ...context,
      start: Date.parse('2026-11-27T09:00:00Z'),
      end: Date.parse('2026-11-27T10:00:00Z'),
      query,
    });

    // Assess
    expect(url).toMatch(
      /^https:\/\/eu-west-1\.console\.aws\.amazon\.com\/cloudwatch\/home\?region=eu-west-1#logsV2:logs-insights\$3FqueryDetail\$3D/,
    );
    expect(url).not.toMatch(/[\s"<>|%]/);
    expect(decodeConsoleUrl(url)).toEqual({
      start: '2026-11-27T09:00:00.000Z',
      end: '2026-11-27T10:00:00.000Z',
      timeType: 'ABSOLUTE',
      editorString: query,
      source: context.logGroupIdentifiers,
    });
    expect(query).toBe(
      // Parsed from @message, as the detector's queries (Logs Insights discovers the default
      // format's fields only in Standard-class log groups).
      'parse @message "* * * * * * * * * * * * * *" as flowVersion, flowAccountId, flowInterfaceId, flowSrcAddr, flowDstAddr, flowSrcPort, flowDstPort, flowProtocol, flowPackets, flowBytes, flowStartTime, flowEndTime, flowAction, flowLogStatus\n' +
        '| filter flowAction = "REJECT" and flowSrcAddr = "10.0.1.23" and not (flowAccountId like /^[0-9]{12}$/)\n| stats count(*) as blocked by flowDstAddr, flowDstPort, flowProtocol, flowInterfaceId\n| sort blocked desc\n| limit 200',
    );
  });

  it('parses a custom flow log format and leaves an invalid address out of the query', () => {
    // Act
    const query = consoleQueryFor(
      { srcIp: '10.0.0.1" | filter 1=1' },
      'version vpc-id srcaddr dstaddr dstport action start',
    );

    // Assess
    expect(query).toBe(
      'parse @message "* * * * * * *" as flowVersion, flowVpcId, flowSrcAddr, flowDstAddr, flowDstPort, flowAction, flowStartTime\n| filter flowAction = "REJECT"\n| stats count(*) as blocked by flowDstAddr, flowDstPort\n| sort blocked desc\n| limit 200',
    );
  });
});

describe('sampleTestAlert', () => {
  it('is a clearly marked spike from documentation-range addresses', () => {
    // Prepare
    const config = resolveDetectorConfig({});
    const alert = sampleTestAlert(Date.parse('2026-11-27T09:00:00Z'), config);

    // Act
    const built = buildSnsMessage(alert, { ...context, test: true });

    // Assess
    expect(alert.kind).toBe('spike');
    expect(alert.alertId.startsWith('TEST/')).toBe(true);
    const addresses = [alert.srcIp, ...(alert.details?.topDestinations.map((d) => d.address) ?? [])];
    for (const address of addresses) expect(address).toMatch(/^(192\.0\.2|198\.51\.100)\.\d+$/);
    expect(built.subject).toMatch(/^\[TEST\] /);
    const chat = JSON.parse(protocols(built.message).default!) as ChatbotNotification;
    expect(chat.content.title.startsWith('TEST: ')).toBe(true);
    expect(chat.content.keywords).toContain('test');
    expect(protocols(built.message).email).toMatch(/^\*\*\* TEST ALERT/);
    expect(built.attributes.severity.StringValue).toBe('test');
  });
});

describe('change-aware alerts in each message', () => {
  const cause = {
    eventId: '6f1c1a8e-3c2b-4f7e-9d1a-2b3c4d5e6f70',
    eventName: 'RevokeSecurityGroupEgress',
    eventTime: '2026-11-27T08:52:00Z',
    principal: 'arn:aws:sts::123456789012:assumed-role/Deployer/jane_doe',
    resource: 'sg-0a1b2c3d4e5f60001',
    description: 'egress tcp/443 to 0.0.0.0/0 removed',
    accountId: '123456789012',
    region: 'eu-west-1',
    consoleUrl:
      'https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events/6f1c1a8e-3c2b-4f7e-9d1a-2b3c4d5e6f70',
    minutesFromWindowStart: -8,
  };
  const lookup = {
    status: 'found' as const,
    from: '2026-11-27T07:00:00Z',
    to: '2026-11-27T10:20:00Z',
    relatedChanges: 1,
  };
  const render = (alert: Alert) => {
    const message = buildSnsMessage(alert, context);
    const body = JSON.parse(message.message) as { email: string; default: string; sqs: string };
    return {
      message,
      email: body.email,
      chat: JSON.parse(body.default) as ChatbotNotification,
      raw: JSON.parse(body.sqs) as PublishedAlert,
    };
  };

  it('names the change, who made it and when in the email, Slack and the raw JSON, with a link to the event', () => {
    const { email, chat, raw, message } = render(spikeAlert({ likelyCause: cause, causeLookup: lookup }));
    expect(email).toContain(
      'Likely cause:        RevokeSecurityGroupEgress on sg-0a1b2c3d4e5f60001 (egress tcp/443 to 0.0.0.0/0 removed) by arn:aws:sts::123456789012:assumed-role/Deployer/jane_doe at 08:52 UTC, 8 minutes before the window\n' +
        `CloudTrail event:    ${cause.consoleUrl}\n`,
    );
    expect(chat.content.description).toContain(
      '*Likely cause:* RevokeSecurityGroupEgress on sg-0a1b2c3d4e5f60001 (egress tcp/443 to 0.0.0.0/0 removed) by arn:aws:sts::123456789012:assumed-role/Deployer/jane\uFF3Fdoe at 08:52 UTC, 8 minutes before the window',
    );
    expect(chat.content.nextSteps).toContain(
      `Open the <${cause.consoleUrl}|CloudTrail event> of the likely cause and confirm the change was intended`,
    );
    expect(chat.metadata.additionalContext.likelyCauseEvent).toBe(
      `RevokeSecurityGroupEgress ${cause.eventId}`,
    );
    expect(raw.likelyCause).toEqual(cause);
    expect(raw.causeLookup).toEqual(lookup);
    expect(message.attributes.policyChange).toBeUndefined();
  });

  it('downgraded: severity low with what it was, and the policyChange attribute for filter policies', () => {
    const { email, chat, message, raw } = render(
      spikeAlert({ severity: 'low', downgradedFrom: 'high', likelyCause: cause, causeLookup: lookup }),
    );
    expect(email).toContain(
      'Severity:            low (downgraded from high: an egress-policy change explains it)\n',
    );
    expect(chat.content.description).toContain(
      '*Severity:* low (downgraded from high: an egress-policy change explains it)',
    );
    expect(message.attributes.severity).toEqual({ DataType: 'String', StringValue: 'low' });
    expect(message.attributes.policyChange).toEqual({ DataType: 'String', StringValue: 'downgraded' });
    expect(raw.downgradedFrom).toBe('high');
    expect(message.subject).toMatch(/^\[LOW\] /);
  });

  it('says when none was found, and when the lookup failed, and a mass spike how many members the change explains', () => {
    const none = render(
      spikeAlert({
        causeLookup: { status: 'none', from: '2026-11-27T07:00:00Z', to: '2026-11-27T10:20:00Z' },
      }),
    );
    expect(none.email).toContain(
      'Likely cause:        none found: no egress-policy change of its security groups or network ACL in CloudTrail from 2026-11-27 07:00 to 10:20 UTC\n',
    );
    expect(none.email).not.toContain('CloudTrail event:');
    const failed = render(
      spikeAlert({
        causeLookup: {
          status: 'unavailable',
          from: '2026-11-27T07:00:00Z',
          to: '2026-11-27T10:20:00Z',
          reason: 'CloudTrail LookupEvents throttled (ThrottlingException: Rate exceeded)',
        },
      }),
    );
    expect(failed.chat.content.description).toContain(
      '*Likely cause:* not known: CloudTrail LookupEvents throttled (ThrottlingException: Rate exceeded); the alert went out without it',
    );
    const mass = render({
      ...massSpike(40),
      likelyCause: { ...cause, explains: 36, of: 40 },
      causeLookup: { ...lookup, membersExplained: 40 },
    });
    expect(mass.email).toMatch(
      /Likely cause: {8}RevokeSecurityGroupEgress .* 8 minutes before the window; explains 36 of 40 sources\n/,
    );
    // Without a cause or a lookup, nothing is said about causes.
    expect(render(spikeAlert()).email).not.toContain('Likely cause');
  });

  it('keeps a hostile principal inert in Slack and on one line in the email', () => {
    const hostile = { ...cause, principal: 'arn:aws:iam::123456789012:user/<!channel>*bold*' };
    const { chat, email } = render(spikeAlert({ likelyCause: hostile, causeLookup: lookup }));
    expect(chat.content.description).not.toMatch(/<!channel>|\*bold\*/);
    expect(email.split('\n').filter((l) => l.startsWith('Likely cause:'))).toHaveLength(1);
  });

  it('writes a principal with a host name or URL in it without a link, in Slack and in the email', () => {
    const hostile = {
      ...cause,
      principal: 'arn:aws:sts::123456789012:assumed-role/Ops/see https://evil.example/x',
    };
    const { chat, email } = render(spikeAlert({ likelyCause: hostile, causeLookup: lookup }));
    const likely = email.split('\n').find((l) => l.startsWith('Likely cause:'))!;
    expect(likely).toContain('https:\u2215\u2215evil\u2024example/x');
    expect(chat.content.description).toContain('https:\u2215\u2215evil\u2024example/x');
    expect(`${likely}\n${chat.content.description}`).not.toContain('evil.example');
  });
});

describe('the account an alert names (issue 14)', () => {
  const inB = spikeAlert({
    alertId: '2026-11-27T09:00:00Z/222222222222|10.0.1.23',
    accountId: '222222222222',
    accountName: 'payments-prod',
  });

  it('names the account in subject, email, Slack title and context, and threads per account and address', () => {
    const message = buildSnsMessage(inB, context);
    expect(message.subject).toBe(
      '[HIGH] Blocked egress spike: 10.0.1.23 in payments-prod (412 blocked, 2026-11-27T09:00Z)',
    );
    const body = JSON.parse(message.message) as { email: string; default: string };
    expect(body.email.split('\n')[0]).toBe('Blocked egress spike: 10.0.1.23 in payments-prod (222222222222)');
    expect(body.email).toContain('\nAccount:             payments-prod (222222222222)\n');
    const chat = JSON.parse(body.default) as ChatbotNotification;
    expect(chat.content.title).toBe(
      ':rotating_light: Blocked egress spike: 10.0.1.23 in payments-prod (222222222222)',
    );
    expect(chat.content.description).toContain('*Account:* payments-prod (222222222222)');
    expect(chat.metadata.threadId).toBe(`blocked-egress/${context.region}/222222222222/10.0.1.23`);
    expect(chat.metadata.additionalContext).toMatchObject({
      accountId: '222222222222',
      accountName: 'payments-prod',
    });
  });

  it('puts the account into an accountId attribute for subscription filter policies', () => {
    expect(buildSnsMessage(inB, context).attributes).toEqual({
      severity: { DataType: 'String', StringValue: 'high' },
      kind: { DataType: 'String', StringValue: 'spike' },
      srcIp: { DataType: 'String', StringValue: '10.0.1.23' },
      region: { DataType: 'String', StringValue: context.region },
      accountId: { DataType: 'String', StringValue: '222222222222' },
      accountSrcIp: { DataType: 'String', StringValue: '222222222222|10.0.1.23' },
    });
    // No account in the records: no attribute (a filter policy can ask for {"exists": false}).
    expect(buildSnsMessage(spikeAlert(), context).attributes).not.toHaveProperty('accountId');
    expect(buildSnsMessage(spikeAlert(), context).attributes.accountSrcIp?.StringValue).toBe('-|10.0.1.23');
  });

  it("routes one host of a mass spike by accountSrcIp: a filter naming another account's host at the same address does not match", () => {
    // SNS filter policy semantics: every key must match; a String.Array matches when any element does.
    const matches = (policy: Record<string, string[]>, attributes: SnsAlertAttributes) =>
      Object.entries(policy).every(([name, allowed]) => {
        const attribute = attributes[name as keyof SnsAlertAttributes];
        if (attribute === undefined) return false;
        const values =
          attribute.DataType === 'String.Array'
            ? (JSON.parse(attribute.StringValue) as string[])
            : [attribute.StringValue];
        return values.some((v) => allowed.includes(v));
      });
    const alert = massSpike(2);
    alert.members = [
      { ...alert.members![0]!, srcIp: '10.0.1.23', accountId: '222233334444' },
      { ...alert.members![1]!, srcIp: '10.0.9.9', accountId: '111122223333' },
    ];
    alert.srcIps = alert.members.map((m) => m.srcIp);
    const { attributes } = buildSnsMessage(alert, context);
    expect(attributes.accountSrcIp).toEqual({
      DataType: 'String.Array',
      StringValue: '["222233334444|10.0.1.23","111122223333|10.0.9.9"]',
    });
    expect(matches({ accountSrcIp: ['111122223333|10.0.1.23'] }, attributes)).toBe(false);
    expect(matches({ accountSrcIp: ['222233334444|10.0.1.23'] }, attributes)).toBe(true);
    // The two separate attributes cannot tell (which is why the docs name accountSrcIp).
    expect(matches({ accountId: ['111122223333'], srcIp: ['10.0.1.23'] }, attributes)).toBe(true);
  });

  it('keeps every account of a mass spike in its accountId attribute when members are cut for size', () => {
    const alert = massSpike(6_005);
    alert.members = alert.members!.map((m, i) => ({
      ...m,
      srcIp: `10.${1 + Math.floor(i / 65_536)}.${Math.floor(i / 256) % 256}.${i % 256}`,
      accountId: i < 6_000 ? '111111111111' : '222222222222',
      blockedCount: 10_000 - i,
    }));
    alert.srcIps = alert.members.map((m) => m.srcIp);
    const stored = fitAlert(alert);
    expect(stored.members!.length).toBeLessThan(6_000); // the second account's members were cut
    const message = buildSnsMessage(stored, context);
    expect(JSON.parse(message.attributes.accountId!.StringValue)).toEqual(['111111111111', '222222222222']);
    expect(
      (JSON.parse((JSON.parse(message.message) as { sqs: string }).sqs) as PublishedAlert).memberAccounts,
    ).toEqual(['111111111111', '222222222222']);
  });

  it('gives two Regions of one account and address different Chatbot ids and Slack threads (one central topic)', () => {
    const chatOf = (region: string) =>
      JSON.parse(
        (JSON.parse(buildSnsMessage(inB, { ...context, region }).message) as { default: string }).default,
      ) as ChatbotNotification;
    const [eu, us] = [chatOf('eu-west-1'), chatOf('us-east-1')];
    expect(eu.id).not.toBe(us.id);
    expect(eu.metadata.threadId).not.toBe(us.metadata.threadId);
    const mass = (region: string) =>
      JSON.parse(
        (JSON.parse(buildSnsMessage(massSpike(2), { ...context, region }).message) as { default: string })
          .default,
      ) as ChatbotNotification;
    expect(mass('eu-west-1').id).not.toBe(mass('us-east-1').id);
  });

  it("lists a mass spike's accounts once each as a String.Array, and each member with its account", () => {
    const alert = massSpike(4);
    alert.members = alert.members!.map((m, i) => ({
      ...m,
      srcIp: '10.0.0.10',
      accountId: `11111111111${i % 2}`,
    }));
    alert.srcIps = alert.members.map((m) => m.srcIp);
    const message = buildSnsMessage(alert, context);
    expect(message.attributes.accountId).toEqual({
      DataType: 'String.Array',
      StringValue: '["111111111110","111111111111"]',
    });
    expect(message.attributes.srcIp).toEqual({ DataType: 'String.Array', StringValue: '["10.0.0.10"]' });
    expect(message.subject).toMatch(/Mass blocked-egress spike: 4 sources in 2 accounts \(/);
    const body = JSON.parse(message.message) as { email: string; default: string };
    expect(body.email).toMatch(/ {2}10\.0\.0\.10 +1,000 {2}z 9\.5 {2}111111111110\n/);
    const chat = JSON.parse(body.default) as ChatbotNotification;
    expect(chat.content.description).toContain('• 10.0.0.10 in 111111111111: 999');
  });

  it('keeps control characters and bidirectional overrides from query results and tags out of every channel, raw JSON included', () => {
    const alert = spikeAlert({
      details: {
        topDestinations: [
          { address: '203.0.113.5\r\nSeverity:            low', port: 443, protocol: 6, count: 3 },
        ],
        totalDestinations: 1,
        interfaceIds: ['eni-1\r\nKind:                test'],
        resources: { 'eni-1\r\nX': { instanceId: 'i-1', name: 'web-\u202Egnp.exe' } },
      },
    });
    const message = buildSnsMessage(alert, context);
    const body = protocols(message.message);
    for (const channel of ['email', 'sqs', 'lambda', 'default'] as const) {
      // (JSON escapes a control character as \u00XX or \r; the text channels would carry it raw.)
      const text = body[channel]!.replace(/\n/g, '');
      expect(text).not.toMatch(/[\p{Cc}\u202a-\u202e]|\\r|\\u00[01]|\\u202e/iu);
    }
    expect(body.email!.split('\n').filter((line) => line.startsWith('Severity:'))).toHaveLength(1);
    const raw = JSON.parse(body.sqs!) as PublishedAlert;
    expect(raw.details?.resources?.['eni-1 X']?.name).toBe('web- gnp.exe');
    expect(raw.alertId).toBe(alert.alertId);
  });

  it('filters the console query by the account and VPC too, where the format has them', () => {
    expect(consoleQueryFor(inB)).toContain(
      'filter flowAction = "REJECT" and flowSrcAddr = "10.0.1.23" and flowAccountId in ["222222222222"]',
    );
    const vpcFormat =
      'version account-id vpc-id interface-id srcaddr dstaddr dstport protocol start end action log-status';
    expect(consoleQueryFor({ ...inB, vpcId: 'vpc-0a1b' }, vpcFormat)).toContain(
      'and flowAccountId in ["222222222222"] and flowVpcId in ["vpc-0a1b"]',
    );
    // A value that is not an account id never reaches the query.
    expect(consoleQueryFor({ ...inB, accountId: '2222"] or ["1' })).not.toContain('accountId in');
    expect(consoleQueryFor(inB, 'srcaddr dstaddr action start')).not.toContain('accountId');
  });
});
