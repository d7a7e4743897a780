/**
 * The alert's console link query (consoleQueryFor) against the local Logs Insights endpoint: it
 * parses the fields from @message as the detector's queries do, so it finds the alerted source in
 * an Infrequent Access log group (where Logs Insights discovers no fields) as in a Standard one.
 */
import {
  CloudWatchLogsClient,
  GetQueryResultsCommand,
  StartQueryCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { consoleQueryFor } from '../../lambda/adapters/alert-format';
import { startLocalLogsInsights, type LocalLogsInsights } from '../support/local-logs-insights';

const T0 = Date.UTC(2024, 4, 1, 10, 0, 0);
const line = (src: string) =>
  `2 123456789012 eni-0a1 ${src} 8.8.8.8 49152 443 6 1 40 ${T0 / 1000} ${T0 / 1000 + 60} REJECT OK`;

let logs: LocalLogsInsights;
let client: CloudWatchLogsClient;
beforeAll(async () => {
  logs = await startLocalLogsInsights({ scheduledPolls: 0, runningPolls: 0 });
  client = new CloudWatchLogsClient({ ...logs.clientConfig(), maxAttempts: 1 });
  logs.seed('/ia', [{ timestamp: T0, message: line('10.9.9.8') }], { logGroupClass: 'INFREQUENT_ACCESS' });
  logs.seed('/std', [{ timestamp: T0, message: line('10.9.9.8') }]);
});
afterAll(async () => {
  client.destroy();
  await logs.stop();
});

async function rows(group: string, queryString: string) {
  const { queryId } = await client.send(
    new StartQueryCommand({
      logGroupName: group,
      startTime: T0 / 1000 - 60,
      endTime: T0 / 1000 + 3600,
      queryString,
    }),
  );
  let r = await client.send(new GetQueryResultsCommand({ queryId }));
  while (r.status === 'Scheduled' || r.status === 'Running')
    r = await client.send(new GetQueryResultsCommand({ queryId }));
  return r.results ?? [];
}

it('the console link query finds the alerted source in an Infrequent Access group, as in a Standard one', async () => {
  const query = consoleQueryFor({ srcIp: '10.9.9.8', accountId: '123456789012' });
  expect((await rows('/std', query)).length).toBe(1);
  expect((await rows('/ia', query)).length).toBe(1);
});
