/**
 * Relating egress-policy changes to alerted sources where the main suite (policy-changes.test.ts)
 * does not look: the same private address in two accounts or two VPCs (overlapping ranges are
 * common in an Organization), interfaces EC2 no longer describes, subnets whose ACL association
 * is unknown, changes tied on everything but their id (the Lambda and the replay read them in
 * different orders and must name the same cause), mass spikes that carry only addresses, lookups
 * that give no reason, and the timing words of the "Likely cause" line.
 */
import {
  alertSourceRefs,
  causeTimingText,
  explainAlerts,
  likelyCauseText,
  noCauseText,
  parsePolicyChange,
  resolveDetectorConfig,
  type Alert,
  type ChangeEvidence,
  type ChangeLookupOutcome,
  type NetworkTopology,
  type PolicyChange,
} from '../../lambda/core';
import {
  createNetworkAclEntry,
  modifyInstanceGroups,
  modifyNetworkInterfaceGroups,
  replaceNetworkAclAssociation,
  revokeSecurityGroupEgress,
} from '../support/cloudtrail-records';

const W = Date.parse('2026-11-27T15:00:00Z');
const at = (minutes: number) => W + minutes * 60_000;
const config = resolveDetectorConfig({});

const ACCOUNT_A = '111111111111';
const ACCOUNT_B = '222222222222';
const VPC_1 = 'vpc-0a1b2c3d4e5f60001';
const VPC_2 = 'vpc-0a1b2c3d4e5f60002';
const SG_A = 'sg-0a1b2c3d4e5f6000a';
const SG_B = 'sg-0a1b2c3d4e5f6000b';
const SG_C = 'sg-0a1b2c3d4e5f6000c';
const SG_D = 'sg-0a1b2c3d4e5f6000d';
const ACL_1 = 'acl-0a1b2c3d4e5f60001';
const ACL_2 = 'acl-0a1b2c3d4e5f60002';
const SHARED_ADDRESS = '10.0.1.10';

/**
 * 10.0.1.10 is held by four interfaces: account A in VPC 1 (group A), account B in VPC 1 (group
 * B), account A in VPC 2 (group C), and one EC2 described without account or VPC (group D);
 * 10.0.9.9 by one of account B in VPC 1 (group B).
 */
const TOPOLOGY: NetworkTopology = {
  interfaces: [
    {
      networkInterfaceId: 'eni-0000000000000000a',
      accountId: ACCOUNT_A,
      vpcId: VPC_1,
      subnetId: 'subnet-0a1b2c3d4e5f60001',
      groupIds: [SG_A],
      addresses: [SHARED_ADDRESS],
    },
    {
      networkInterfaceId: 'eni-0000000000000000b',
      accountId: ACCOUNT_B,
      vpcId: VPC_1,
      subnetId: 'subnet-0a1b2c3d4e5f60002',
      groupIds: [SG_B],
      addresses: [SHARED_ADDRESS],
    },
    {
      networkInterfaceId: 'eni-0000000000000000c',
      accountId: ACCOUNT_A,
      vpcId: VPC_2,
      subnetId: 'subnet-0a1b2c3d4e5f60003',
      groupIds: [SG_C],
      addresses: [SHARED_ADDRESS],
    },
    {
      networkInterfaceId: 'eni-0000000000000000d',
      groupIds: [SG_D],
      addresses: [SHARED_ADDRESS],
    },
    {
      networkInterfaceId: 'eni-0000000000000000e',
      accountId: ACCOUNT_B,
      vpcId: VPC_1,
      subnetId: 'subnet-0a1b2c3d4e5f60002',
      groupIds: [SG_B],
      addresses: ['10.0.9.9'],
    },
  ],
  subnetAcls: [
    // Subnet 1: EC2 gave no association id; subnet 2: it did; subnet 3: no ACL known at all.
    { subnetId: 'subnet-0a1b2c3d4e5f60001', networkAclId: ACL_1 },
    {
      subnetId: 'subnet-0a1b2c3d4e5f60002',
      networkAclId: ACL_2,
      associationId: 'aclassoc-0a1b2c3d4e5f60002',
    },
  ],
  securityGroupRules: [],
};

function spike(fields: Partial<Alert> = {}): Alert {
  return {
    alertId: `2026-11-27T15:00:00Z/${SHARED_ADDRESS}`,
    kind: 'spike',
    preset: 'recommended',
    severity: 'high',
    windowStart: '2026-11-27T15:00:00Z',
    windowEnd: '2026-11-27T16:00:00Z',
    srcIp: SHARED_ADDRESS,
    blockedCount: 400,
    uniqueDestinations: 3,
    baseline: { mean: 4, sd: 2, dataPoints: 300 },
    zScore: 198,
    ...fields,
  };
}

function massSpike(fields: Partial<Alert>): Alert {
  return {
    alertId: '2026-11-27T15:00:00Z/mass-spike',
    kind: 'mass-spike',
    preset: 'recommended',
    severity: 'medium',
    windowStart: '2026-11-27T15:00:00Z',
    windowEnd: '2026-11-27T16:00:00Z',
    blockedCount: 200,
    uniqueDestinations: null,
    baseline: null,
    zScore: null,
    ...fields,
  };
}

const complete = (): ChangeLookupOutcome => ({ status: 'complete' });
const changes = (...records: unknown[]): PolicyChange[] =>
  records.map((record) => {
    const change = parsePolicyChange(record);
    if (change === undefined) throw new Error('a test record was not read');
    return change;
  });
const revokeOn = (groupId: string, eventId = `revoke-${groupId}`, minutes = -8) =>
  revokeSecurityGroupEgress(groupId, [{ protocol: '-1', cidr: '0.0.0.0/0' }], { at: at(minutes), eventId });

function explainOne(
  alert: Alert,
  list: PolicyChange[],
  lookupFor: ChangeEvidence['lookupFor'] = complete,
): Alert {
  const [explained] = explainAlerts([alert], { changes: list, topology: TOPOLOGY, lookupFor }, config);
  if (explained === undefined) throw new Error('explainAlerts dropped the alert');
  return explained;
}

describe('the same address in two accounts or two VPCs', () => {
  const revokes = changes(revokeOn(SG_A), revokeOn(SG_B), revokeOn(SG_C), revokeOn(SG_D));
  const causeOf = (alert: Alert) => explainOne(alert, revokes).likelyCause?.eventId;
  const relatedOf = (alert: Alert) => explainOne(alert, revokes).causeLookup?.relatedChanges;

  it("relates a source only to its own account's and VPC's interfaces, and to those EC2 gave without either", () => {
    // Account A, VPC 1: its own interface (group A) and the one without account or VPC (group D).
    const a1 = spike({ accountId: ACCOUNT_A, vpcId: VPC_1 });
    expect(relatedOf(a1)).toBe(2);
    expect([SG_A, SG_D].map((sg) => `revoke-${sg}`)).toContain(causeOf(a1));
    // Account B, VPC 1: group B and group D, never A's groups.
    expect(relatedOf(spike({ accountId: ACCOUNT_B, vpcId: VPC_1 }))).toBe(2);
    // Account A, VPC 2: group C and group D.
    expect(relatedOf(spike({ accountId: ACCOUNT_A, vpcId: VPC_2 }))).toBe(2);
    // Account A, VPC unknown (the format has no vpc-id): the records' interface tells the VPC,
    // so VPC 1's interface of A and D, which EC2 gave without a VPC.
    const named = { topDestinations: [], totalDestinations: 0, interfaceIds: ['eni-0000000000000000a'] };
    expect(relatedOf(spike({ accountId: ACCOUNT_A, details: named }))).toBe(2);
  });

  it('relates nothing by an address held in two VPCs when neither the VPC nor an interface is known', () => {
    const ambiguous = {
      status: 'unavailable',
      reason: 'the address is held in 2 VPCs and the records name neither its VPC nor a known interface',
    };
    // Account A holds it in VPC 1 and VPC 2; with no account known, so do A and B together.
    expect(explainOne(spike({ accountId: ACCOUNT_A }), revokes).causeLookup).toMatchObject(ambiguous);
    expect(explainOne(spike(), revokes).causeLookup).toMatchObject(ambiguous);
    expect(explainOne(spike(), revokes).likelyCause).toBeUndefined();
    // An interface EC2 no longer describes tells no VPC either, but a change to it still relates.
    const gone = { topDestinations: [], totalDestinations: 0, interfaceIds: ['eni-0000000000000dead'] };
    expect(explainOne(spike({ details: gone }), revokes).causeLookup).toMatchObject(ambiguous);
    const regrouped = changes(modifyNetworkInterfaceGroups('eni-0000000000000dead', [SG_B], { at: at(-8) }));
    expect(explainOne(spike({ details: gone }), regrouped).likelyCause?.resource).toBe(
      'eni-0000000000000dead',
    );
  });

  it('relates through every VPC the records name interfaces in', () => {
    // The records name A's interfaces in VPC 1 and in VPC 2: both VPCs' holders, and D.
    const both = {
      topDestinations: [],
      totalDestinations: 0,
      interfaceIds: ['eni-0000000000000000a', 'eni-0000000000000000c'],
    };
    expect(relatedOf(spike({ accountId: ACCOUNT_A, details: both }))).toBe(3);
  });

  it("names only the change of the source's own account when only that one relates", () => {
    const onlyB = changes(revokeOn(SG_A), revokeOn(SG_B));
    expect(explainOne(spike({ accountId: ACCOUNT_B, vpcId: VPC_1 }), onlyB).likelyCause?.eventId).toBe(
      `revoke-${SG_B}`,
    );
    expect(explainOne(spike({ accountId: ACCOUNT_A, vpcId: VPC_2 }), onlyB).causeLookup?.status).toBe('none');
  });

  it("counts a mass spike's members by their own account and VPC", () => {
    const members = [
      { srcIp: SHARED_ADDRESS, accountId: ACCOUNT_A, vpcId: VPC_1, blockedCount: 100, zScore: 40 },
      { srcIp: SHARED_ADDRESS, accountId: ACCOUNT_B, vpcId: VPC_1, blockedCount: 100, zScore: 40 },
      { srcIp: SHARED_ADDRESS, accountId: ACCOUNT_A, vpcId: VPC_2, blockedCount: 100, zScore: 40 },
    ];
    const alert = massSpike({ srcIps: members.map((m) => m.srcIp), members });
    // Group B is only the account-B member's; group C only the VPC-2 member's.
    expect(explainOne(alert, changes(revokeOn(SG_B))).likelyCause).toMatchObject({ explains: 1, of: 3 });
    expect(explainOne(alert, changes(revokeOn(SG_C))).likelyCause).toMatchObject({ explains: 1, of: 3 });
    expect(explainOne(alert, changes(revokeOn(SG_B))).causeLookup).toMatchObject({ membersExplained: 1 });
  });

  it('asks for the lookup of each account of the sources, once', () => {
    const asked: (string | undefined)[] = [];
    const lookupFor = (accountId: string | undefined): ChangeLookupOutcome => {
      asked.push(accountId);
      return accountId === ACCOUNT_B
        ? { status: 'unavailable', reason: 'AccessDenied in 222222222222' }
        : complete();
    };
    const members = [ACCOUNT_A, ACCOUNT_B, ACCOUNT_A].map((accountId) => ({
      srcIp: SHARED_ADDRESS,
      accountId,
      blockedCount: 100,
      zScore: 40,
    }));
    const alert = explainOne(massSpike({ srcIps: members.map((m) => m.srcIp), members }), [], lookupFor);
    expect(asked).toEqual([ACCOUNT_A, ACCOUNT_B]);
    expect(alert.causeLookup).toMatchObject({
      status: 'unavailable',
      reason: 'AccessDenied in 222222222222',
    });
  });
});

describe('mass spikes that carry only addresses, and alerts that name no source', () => {
  it('relates a mass spike through its srcIps when it has no members', () => {
    // 10.0.9.9 is held once (group B); the shared address in two VPCs relates nothing.
    const alert = explainOne(
      massSpike({ srcIps: [SHARED_ADDRESS, '10.0.9.9', '10.9.9.9'] }),
      changes(revokeOn(SG_B)),
    );
    expect(alert.likelyCause).toMatchObject({ eventId: `revoke-${SG_B}`, explains: 1, of: 3 });
    expect(alert.causeLookup).toMatchObject({ status: 'found', membersExplained: 1 });
  });

  it('looks nothing up for an alert that names no source', () => {
    const asked: (string | undefined)[] = [];
    const lookupFor = (accountId: string | undefined): ChangeLookupOutcome => {
      asked.push(accountId);
      return { status: 'unavailable', reason: 'should not be asked' };
    };
    const noSource = spike();
    delete noSource.srcIp;
    const [spikeWithout, massWithout] = explainAlerts(
      [noSource, massSpike({})],
      { changes: changes(revokeOn(SG_A)), topology: TOPOLOGY, lookupFor },
      config,
    );
    expect(asked).toEqual([]);
    expect(spikeWithout?.causeLookup?.status).toBe('none');
    expect(massWithout?.causeLookup?.status).toBe('none');
  });
});

describe('interfaces EC2 does not describe', () => {
  const GONE = 'eni-0000000000000000f';
  const viaRecords = spike({
    srcIp: '10.9.9.9',
    details: { topDestinations: [], totalDestinations: 0, interfaceIds: [GONE] },
  });

  it('relates an interface the records name only through changes to that interface', () => {
    expect(explainOne(viaRecords, changes(revokeOn(SG_A), revokeOn(SG_B))).causeLookup?.status).toBe('none');
    const regrouped = changes(modifyNetworkInterfaceGroups(GONE, [SG_A], { at: at(-3), eventId: 'regroup' }));
    expect(explainOne(viaRecords, regrouped).likelyCause?.eventId).toBe('regroup');
  });
});

describe('subnet ACL associations', () => {
  const association = (networkAclId: string, newAssociationId: string, eventId: string) =>
    replaceNetworkAclAssociation('aclassoc-0a1b2c3d4e5f60009', networkAclId, newAssociationId, {
      at: at(-5),
      eventId,
    });
  const inA1 = spike({ accountId: ACCOUNT_A, vpcId: VPC_1 });
  const inB1 = spike({ accountId: ACCOUNT_B, vpcId: VPC_1 });
  const inA2 = spike({ accountId: ACCOUNT_A, vpcId: VPC_2 });

  it('without the association id from EC2, relates a move to the ACL the subnet now uses, and no other', () => {
    expect(
      explainOne(inA1, changes(association(ACL_1, 'aclassoc-0a1b2c3d4e5f60007', 'to-1'))).likelyCause
        ?.eventId,
    ).toBe('to-1');
    expect(
      explainOne(inA1, changes(association(ACL_2, 'aclassoc-0a1b2c3d4e5f60007', 'to-2'))).causeLookup?.status,
    ).toBe('none');
  });

  it('with the association id from EC2, relates the move that made that association, whatever ACL it names', () => {
    expect(
      explainOne(inB1, changes(association(ACL_1, 'aclassoc-0a1b2c3d4e5f60002', 'this'))).likelyCause
        ?.eventId,
    ).toBe('this');
    expect(
      explainOne(inB1, changes(association(ACL_2, 'aclassoc-0a1b2c3d4e5f60008', 'other'))).causeLookup
        ?.status,
    ).toBe('none');
  });

  it('relates no association change or ACL entry to a subnet whose ACL EC2 did not give', () => {
    const list = changes(
      association(ACL_1, 'aclassoc-0a1b2c3d4e5f60007', 'to-1'),
      association(ACL_2, 'aclassoc-0a1b2c3d4e5f60002', 'to-2'),
      createNetworkAclEntry(
        ACL_1,
        { ruleNumber: 5, egress: true, action: 'deny', protocol: '-1', cidr: '0.0.0.0/0' },
        { at: at(-5) },
      ),
    );
    // Interface C (account A, VPC 2) is in subnet 3, which has no known ACL; it has group C only.
    expect(explainOne(inA2, list).causeLookup?.status).toBe('none');
  });
});

describe('the resource a cause names, and alerts the relation cannot place', () => {
  const inA1 = spike({ accountId: ACCOUNT_A, vpcId: VPC_1 });

  it('names the ACL of an association change, the interface or instance of a group set change', () => {
    const resourceOf = (record: unknown) => explainOne(inA1, changes(record)).likelyCause?.resource;
    expect(
      resourceOf(
        replaceNetworkAclAssociation('aclassoc-0a1b2c3d4e5f60009', ACL_1, 'aclassoc-0a1b2c3d4e5f60007', {
          at: at(-5),
        }),
      ),
    ).toBe(ACL_1);
    expect(resourceOf(modifyNetworkInterfaceGroups('eni-0000000000000000a', [SG_B], { at: at(-5) }))).toBe(
      'eni-0000000000000000a',
    );
    const withInstance: NetworkTopology = {
      ...TOPOLOGY,
      interfaces: [{ ...TOPOLOGY.interfaces[0]!, instanceId: 'i-0000000000000000a' }],
    };
    const [viaInstance] = explainAlerts(
      [inA1],
      {
        changes: changes(modifyInstanceGroups('i-0000000000000000a', [SG_B], { at: at(-5) })),
        topology: withInstance,
        lookupFor: complete,
      },
      config,
    );
    expect(viaInstance?.likelyCause?.resource).toBe('i-0000000000000000a');
  });

  it('relates an association change without the new association id by the ACL it names, even where EC2 gave one', () => {
    // Subnet 2 (account B's interface) uses ACL 2 through aclassoc-...0002.
    const record = replaceNetworkAclAssociation('aclassoc-0a1b2c3d4e5f60009', ACL_2, 'none', {
      at: at(-5),
      eventId: 'to-2',
    });
    const inB1 = spike({ accountId: ACCOUNT_B, vpcId: VPC_1 });
    expect(explainOne(inB1, changes(record)).likelyCause?.eventId).toBe('to-2');
  });

  it('keeps an alert whose source is not an address (an old state file), with nothing found', () => {
    const odd = explainOne(spike({ srcIp: 'host-1' }), changes(revokeOn(SG_A)));
    expect(odd.causeLookup?.status).toBe('none');
    expect(odd.srcIp).toBe('host-1');
  });

  it('does not downgrade a spike that is already low, and says nothing of a severity it did not change', () => {
    const downgrade = resolveDetectorConfig({ policyChangeSpikes: 'downgrade' });
    const [low] = explainAlerts(
      [spike({ accountId: ACCOUNT_A, vpcId: VPC_1, severity: 'low' })],
      { changes: changes(revokeOn(SG_A)), topology: TOPOLOGY, lookupFor: complete },
      downgrade,
    );
    expect(low?.severity).toBe('low');
    expect(low).not.toHaveProperty('downgradedFrom');
    expect(low?.likelyCause?.eventId).toBe(`revoke-${SG_A}`);
  });
});

describe('changes after the window', () => {
  it("prefers a change made by the window's end to a later one of the same kind, whatever order they were read in", () => {
    const before = revokeOn(SG_A, 'before-end', -20);
    const after = revokeOn(SG_A, 'after-end', 65); // within the lag: still searched
    const inA1 = spike({ accountId: ACCOUNT_A, vpcId: VPC_1 });
    expect(explainOne(inA1, changes(before, after)).likelyCause?.eventId).toBe('before-end');
    expect(explainOne(inA1, changes(after, before)).likelyCause?.eventId).toBe('before-end');
    // Alone, the later one is still named.
    expect(explainOne(inA1, changes(after)).likelyCause?.eventId).toBe('after-end');
  });
});

describe('changes tied on everything but their id', () => {
  it('names the same cause whatever order the changes were read in (the Lambda and the replay read differently)', () => {
    const ids = ['e-2', 'e-1', 'e-3'];
    const orders = [
      [0, 1, 2],
      [0, 2, 1],
      [1, 0, 2],
      [1, 2, 0],
      [2, 0, 1],
      [2, 1, 0],
    ];
    const base = changes(...ids.map((id) => revokeOn(SG_A, id, -8)));
    const named = orders.map(
      (order) =>
        explainOne(
          spike({ accountId: ACCOUNT_A, vpcId: VPC_1 }),
          order.map((i) => base[i]!),
        ).likelyCause?.eventId,
    );
    expect(named).toEqual(orders.map(() => 'e-1'));
  });
});

describe('lookups that give no reason', () => {
  const source = spike({ accountId: ACCOUNT_A, vpcId: VPC_1 });

  it('says the lookup did not complete when it failed without a reason', () => {
    const alert = explainOne(source, [], () => ({ status: 'unavailable' }));
    expect(alert.causeLookup).toMatchObject({ status: 'unavailable', reason: 'the lookup did not complete' });
    expect(noCauseText(alert.causeLookup!)).toBe(
      'not known: the lookup did not complete; the alert went out without it',
    );
    expect(
      noCauseText({ status: 'unavailable', from: '2026-11-27T13:00:00Z', to: '2026-11-27T16:20:00Z' }),
    ).toBe('not known: the lookup did not complete; the alert went out without it');
  });

  it('says not every change could be read when a cause was found in an incomplete lookup without a reason', () => {
    const alert = explainOne(source, changes(revokeOn(SG_A)), () => ({ status: 'incomplete' }));
    expect(alert.causeLookup).toMatchObject({
      status: 'found',
      reason: 'lookup incomplete: not every change could be read',
    });
  });
});

describe('when the change was made, in words', () => {
  it('says one minute, not one minutes, and "as the window began" at its start', () => {
    expect(causeTimingText({ minutesFromWindowStart: -1 }, 60)).toBe('1 minute before the window');
    expect(causeTimingText({ minutesFromWindowStart: 1 }, 60)).toBe('1 minute into the window');
    expect(causeTimingText({ minutesFromWindowStart: 61 }, 60)).toBe("1 minute after the window's end");
    expect(causeTimingText({ minutesFromWindowStart: 0 }, 60)).toBe('as the window began');
    expect(causeTimingText({ minutesFromWindowStart: 60 }, 60)).toBe("0 minutes after the window's end");
    expect(causeTimingText({ minutesFromWindowStart: 14 }, 15)).toBe('14 minutes into the window');
  });

  it('writes the date of a change made on another day than the window', () => {
    const alert = explainOne(
      spike({
        accountId: ACCOUNT_A,
        vpcId: VPC_1,
        windowStart: '2026-11-28T00:30:00Z',
        windowEnd: '2026-11-28T01:30:00Z',
      }),
      changes(
        revokeSecurityGroupEgress(SG_A, [{ protocol: '-1', cidr: '0.0.0.0/0' }], {
          at: Date.parse('2026-11-27T23:50:00Z'),
          eventId: 'late',
        }),
      ),
    );
    expect(likelyCauseText(alert.likelyCause!, alert)).toMatch(
      / at 2026-11-27 23:50 UTC, 40 minutes before the window$/,
    );
  });
});

describe('alertSourceRefs', () => {
  it("gives a spike's source and a mass spike's members with the account and VPC they carry, and no empty keys", () => {
    expect(alertSourceRefs(spike({ accountId: ACCOUNT_A, vpcId: VPC_1 }))).toStrictEqual([
      { address: SHARED_ADDRESS, accountId: ACCOUNT_A, vpcId: VPC_1 },
    ]);
    expect(alertSourceRefs(spike({}))).toStrictEqual([{ address: SHARED_ADDRESS }]);
    const members = [
      { srcIp: '10.0.0.1', accountId: ACCOUNT_B, blockedCount: 100, zScore: 9 },
      { srcIp: '10.0.0.2', vpcId: VPC_2, blockedCount: 100, zScore: 9 },
    ];
    expect(alertSourceRefs(massSpike({ srcIps: ['10.0.0.1', '10.0.0.2'], members }))).toStrictEqual([
      { address: '10.0.0.1', accountId: ACCOUNT_B },
      { address: '10.0.0.2', vpcId: VPC_2 },
    ]);
    // A mass spike written with addresses only; an alert that names no source.
    expect(alertSourceRefs(massSpike({ srcIps: ['10.0.0.3'] }))).toStrictEqual([{ address: '10.0.0.3' }]);
    expect(alertSourceRefs(spike({ srcIp: undefined }))).toStrictEqual([]);
  });
});
