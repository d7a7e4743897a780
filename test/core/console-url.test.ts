/** Console links follow the Region's partition: China and GovCloud have consoles of their own. */
import { athenaConsoleUrl, logsInsightsConsoleUrl } from '../../lambda/adapters/alert-format';
import { consoleOrigin } from '../../lambda/core/console-url';
import { cloudTrailEventUrl } from '../../lambda/core/policy-changes';

describe('console links', () => {
  it.each([
    ['eu-west-1', 'https://eu-west-1.console.aws.amazon.com'],
    ['cn-north-1', 'https://console.amazonaws.cn'],
    ['cn-northwest-1', 'https://console.amazonaws.cn'],
    ['us-gov-west-1', 'https://console.amazonaws-us-gov.com'],
  ])('%s: %s', (region, origin) => {
    expect(consoleOrigin(region)).toBe(origin);
    expect(athenaConsoleUrl(region, 'egress')).toBe(
      `${origin}/athena/home?region=${region}#/query-editor?workgroup=egress`,
    );
    expect(cloudTrailEventUrl(region, 'e-1')).toBe(
      `${origin}/cloudtrailv2/home?region=${region}#/events/e-1`,
    );
    const insights = logsInsightsConsoleUrl({
      region,
      logGroupIdentifiers: ['/vpc/flow-logs'],
      start: 0,
      end: 3_600_000,
      query: 'stats count()',
    });
    expect(insights.startsWith(`${origin}/cloudwatch/home?region=${region}#logsV2:logs-insights`)).toBe(true);
  });
});
