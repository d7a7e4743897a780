/** The flow log groups the stack hands the function: each group once, however it is named. */
import { App, Stack } from 'aws-cdk-lib';
import { FlowLogSource } from '../../lib/constructs/flow-log-source';

const ARN = 'arn:aws:logs:eu-west-1:123456789012:log-group:/vpc/flow-logs/shared';

function identifiers(env: { account?: string; region?: string }, existingLogGroups: string[]): string[] {
  const stack = new Stack(new App(), 'Detector', { env });
  return new FlowLogSource(stack, 'FlowLogs', { existingLogGroups }).logGroups.map((g) => g.identifier);
}

it("queries a group named by name and by ARN once, in the stack's account and Region", () => {
  const env = { account: '123456789012', region: 'eu-west-1' };
  expect(identifiers(env, ['/vpc/flow-logs/shared', ARN, `${ARN}:*`])).toEqual(['/vpc/flow-logs/shared']);
  expect(identifiers(env, [ARN, '/vpc/flow-logs/shared'])).toEqual([ARN]);
});

it('keeps the same name in another account or Region: another group', () => {
  const otherAccount = ARN.replace('123456789012', '210987654321');
  const otherRegion = ARN.replace('eu-west-1', 'eu-central-1');
  expect(
    identifiers({ account: '123456789012', region: 'eu-west-1' }, [
      '/vpc/flow-logs/shared',
      otherAccount,
      otherRegion,
    ]),
  ).toEqual(['/vpc/flow-logs/shared', otherAccount, otherRegion]);
});

it('keeps both spellings when the account is known only at deploy time (the function tells them apart)', () => {
  expect(identifiers({}, ['/vpc/flow-logs/shared', ARN])).toEqual(['/vpc/flow-logs/shared', ARN]);
});
