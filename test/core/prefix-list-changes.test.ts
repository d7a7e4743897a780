/**
 * A managed prefix list's edit as the cause of a spike: a security group's egress rule may name a
 * prefix list instead of a CIDR, and removing an entry from the list blocks that egress without
 * any group or network ACL event. ModifyManagedPrefixList (and RestoreManagedPrefixListVersion)
 * records are read, and relate to a source whose groups have an egress rule naming the list.
 */
import {
  EGRESS_CHANGE_EVENT_NAMES,
  likelyCauseText,
  parsePolicyChange,
  type Alert,
  type NetworkTopology,
  type PolicyChange,
} from '../../lambda/core';
import { explainOne, readChange, spikeAlert } from '../support/change-cause-fixtures';
import { cloudTrailRecord, modifyManagedPrefixList } from '../support/cloudtrail-records';

const W = Date.parse('2026-11-27T15:00:00Z');
const at = (minutes: number) => W + minutes * 60_000;
const LIST = 'pl-0a1b2c3d4e5f60001';
const OTHER_LIST = 'pl-0a1b2c3d4e5f60002';
const SG_WEB = 'sg-0a1b2c3d4e5f6000a';
const SG_DB = 'sg-0a1b2c3d4e5f6000b';

/** 10.0.1.10 in the web group, whose egress rule names LIST; 10.0.2.20 in the db group, whose ingress rule does. */
const TOPOLOGY: NetworkTopology = {
  interfaces: [
    { networkInterfaceId: 'eni-0000000000000000a', groupIds: [SG_WEB], addresses: ['10.0.1.10'] },
    { networkInterfaceId: 'eni-0000000000000000b', groupIds: [SG_DB], addresses: ['10.0.2.20'] },
  ],
  subnetAcls: [],
  securityGroupRules: [
    { ruleId: 'sgr-0a1b2c3d4e5f60001', groupId: SG_WEB, isEgress: true, prefixListId: LIST },
    { ruleId: 'sgr-0a1b2c3d4e5f60002', groupId: SG_DB, isEgress: false, prefixListId: LIST },
    { ruleId: 'sgr-0a1b2c3d4e5f60003', groupId: SG_DB, isEgress: true, prefixListId: OTHER_LIST },
  ],
};

const explain = (alert: Alert, changes: PolicyChange[], mode: 'annotate' | 'downgrade') =>
  explainOne(alert, changes, TOPOLOGY, mode);

describe('reading a managed prefix list edit', () => {
  it('is one of the event names the Lambda looks up', () => {
    expect(EGRESS_CHANGE_EVENT_NAMES).toEqual(
      expect.arrayContaining(['ModifyManagedPrefixList', 'RestoreManagedPrefixListVersion']),
    );
  });

  it('an entry removed can only block more, one added only allow more, both either way', () => {
    const removed = readChange(
      modifyManagedPrefixList(LIST, { remove: ['198.51.100.0/24'] }, { at: at(-5) }),
    );
    expect(removed).toMatchObject({
      eventName: 'ModifyManagedPrefixList',
      target: { kind: 'prefix-list', prefixListId: LIST },
      description: 'prefix list entry 198.51.100.0/24 removed',
      effect: 'tightens',
    });
    expect(
      readChange(modifyManagedPrefixList(LIST, { add: ['203.0.113.0/24', '192.0.2.0/24'] }, { at: at(-5) })),
    ).toMatchObject({
      description: 'prefix list entries 203.0.113.0/24; 192.0.2.0/24 added',
      effect: 'loosens',
    });
    expect(
      readChange(
        modifyManagedPrefixList(
          LIST,
          { add: ['203.0.113.0/24'], remove: ['198.51.100.0/24'] },
          { at: at(-5) },
        ),
      ),
    ).toMatchObject({
      description: 'prefix list entries 198.51.100.0/24 removed and 203.0.113.0/24 added',
      effect: 'changes',
    });
  });

  it('reads the request unwrapped and in lower camel case too', () => {
    const record = cloudTrailRecord(
      'ModifyManagedPrefixList',
      { prefixListId: LIST, removeEntry: { items: [{ cidr: '198.51.100.0/24' }] } },
      null,
      { at: at(-5) },
    );
    expect(readChange(record)).toMatchObject({
      description: 'prefix list entry 198.51.100.0/24 removed',
      effect: 'tightens',
    });
  });

  it('a new name alone is no change; entries in a form it does not know are a change of unknown effect', () => {
    expect(
      parsePolicyChange(modifyManagedPrefixList(LIST, { name: 'partners' }, { at: at(-5) })),
    ).toBeUndefined();
    const unknownForm = cloudTrailRecord(
      'ModifyManagedPrefixList',
      {
        ModifyManagedPrefixListRequest: {
          PrefixListId: LIST,
          RemoveEntrySet: [{ CidrBlock: '198.51.100.0/24' }],
        },
      },
      null,
      { at: at(-5) },
    );
    expect(readChange(unknownForm)).toMatchObject({ description: 'entries changed', effect: 'changes' });
  });

  it('refuses a list id not in its AWS shape and a call that failed', () => {
    expect(
      parsePolicyChange(modifyManagedPrefixList('pl-<x>', { remove: ['198.51.100.0/24'] }, { at: at(-5) })),
    ).toBeUndefined();
    const failed = {
      ...modifyManagedPrefixList(LIST, { remove: ['198.51.100.0/24'] }, { at: at(-5) }),
      errorCode: 'Client.PrefixListVersionMismatch',
    };
    expect(parsePolicyChange(failed)).toBeUndefined();
  });

  it('a restored version may block or allow, and names the version', () => {
    const record = cloudTrailRecord(
      'RestoreManagedPrefixListVersion',
      {
        RestoreManagedPrefixListVersionRequest: { PrefixListId: LIST, PreviousVersion: 2, CurrentVersion: 5 },
      },
      null,
      { at: at(-5) },
    );
    expect(readChange(record)).toMatchObject({
      target: { kind: 'prefix-list', prefixListId: LIST },
      description: 'prefix list restored to version 2',
      effect: 'changes',
    });
    const noVersion = cloudTrailRecord(
      'RestoreManagedPrefixListVersion',
      { PrefixListId: LIST, PreviousVersion: 'two<b>' },
      null,
      { at: at(-5) },
    );
    expect(readChange(noVersion).description).toBe('prefix list restored to an earlier version');
  });
});

describe('relating it to a source', () => {
  const removal = readChange(
    modifyManagedPrefixList(LIST, { remove: ['198.51.100.0/24'] }, { at: at(-8), eventId: 'pl-edit' }),
  );

  it("explains a source whose group's egress rule names the list, and downgrades it", () => {
    const alert = explain(spikeAlert('10.0.1.10'), [removal], 'downgrade');
    expect(alert.likelyCause).toMatchObject({
      eventId: 'pl-edit',
      eventName: 'ModifyManagedPrefixList',
      resource: LIST,
      minutesFromWindowStart: -8,
    });
    expect(likelyCauseText(alert.likelyCause!, alert)).toContain(
      `ModifyManagedPrefixList on ${LIST} (prefix list entry 198.51.100.0/24 removed)`,
    );
    expect(alert).toMatchObject({ severity: 'low', downgradedFrom: 'high' });
  });

  it('explains nothing through an ingress rule naming the list, nor through a rule naming another list', () => {
    const alert = explain(spikeAlert('10.0.2.20'), [removal], 'downgrade');
    expect(alert.likelyCause).toBeUndefined();
    expect(alert.causeLookup?.status).toBe('none');
    expect(alert.severity).toBe('high');
  });

  it('an entry added is named but never lowers the alert', () => {
    const added = readChange(modifyManagedPrefixList(LIST, { add: ['203.0.113.0/24'] }, { at: at(-8) }));
    const alert = explain(spikeAlert('10.0.1.10'), [added], 'downgrade');
    expect(alert.likelyCause?.resource).toBe(LIST);
    expect(alert.severity).toBe('high');
  });
});
