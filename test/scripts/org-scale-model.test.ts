/**
 * The bench's model of a window's Logs Insights time (bench/support/org-scale.ts queryTimeline):
 * parts wait for the full result they were split from; a kept plan's parts start at once.
 */
import { queryTimeline } from '../../bench/support/org-scale';

const BASE =
  'filter flowLogStatus = "SKIPDATA" or (flowAction = "REJECT" and (isIpInSubnet(flowSrcAddr, "10.0.0.0/8") or isIpInSubnet(flowSrcAddr, "192.168.0.0/16")))';
const query = (cidr: string | undefined, rowCount: number) => ({
  queryString:
    cidr === undefined
      ? `${BASE} | stats count(*)`
      : `${BASE} and isIpInSubnet(flowSrcAddr, "${cidr}") | stats count(*)`,
  rowCount,
  limit: 100,
});

describe('queryTimeline', () => {
  it('starts a part after the full result it was split from, a few at a time', () => {
    // root full -> 10/8 full, 192.168/16 -> 10/9, 10.128/9 (the halves wait for 10/8)
    const halving = [
      query(undefined, 100),
      query('10.0.0.0/8', 100),
      query('192.168.0.0/16', 40),
      query('10.0.0.0/9', 60),
      query('10.128.0.0/9', 70),
    ];
    expect(queryTimeline(halving, 4)).toBe(3);
    expect(queryTimeline(halving, 1)).toBe(5);
  });

  it("runs a kept plan's parts at once, limited only by the slots", () => {
    const plan = ['10.0.0.0/9', '10.128.0.0/9', '192.168.0.0/17', '192.168.128.0/17', '172.16.0.0/12'].map(
      (c) => query(c, 60),
    );
    expect(queryTimeline(plan, 4)).toBe(2);
    expect(queryTimeline(plan, 5)).toBe(1);
  });
});
