import fc from 'fast-check';
import {
  accountOfKey,
  accountOfRecord,
  addressOfKey,
  identityOfKey,
  InvalidSourceKeyError,
  isAccountId,
  isSourceKey,
  isVpcId,
  parseSourceKey,
  sourceKey,
  sourceLabel,
  UNKNOWN_ACCOUNT,
  vpcOfRecord,
} from '../../lambda/core/source-key';

describe('sourceKey', () => {
  it('is <accountId>|<address>, or <accountId>|<vpcId>|<address> when the VPC is known', () => {
    expect(sourceKey({ accountId: '111111111111', address: '10.0.0.10' })).toBe('111111111111|10.0.0.10');
    expect(sourceKey({ accountId: '111111111111', vpcId: 'vpc-0a1b2c3d', address: '10.0.0.10' })).toBe(
      '111111111111|vpc-0a1b2c3d|10.0.0.10',
    );
  });

  it('writes - for an account the format does not carry, and leaves out a VPC written as -', () => {
    expect(sourceKey({ accountId: undefined, address: '10.0.0.10' })).toBe('-|10.0.0.10');
    expect(sourceKey({ accountId: UNKNOWN_ACCOUNT, address: '10.0.0.10' })).toBe('-|10.0.0.10');
    expect(sourceKey({ address: '10.0.0.10', vpcId: '-' })).toBe('-|10.0.0.10');
    expect(sourceKey({ accountId: '111111111111', address: '10.0.0.10', vpcId: '' })).toBe(
      '111111111111|10.0.0.10',
    );
  });

  it('keeps IPv6 (and IPv4-mapped IPv6) as the record writes it', () => {
    expect(sourceKey({ accountId: '111111111111', address: '2001:db8::1' })).toBe('111111111111|2001:db8::1');
    expect(sourceKey({ accountId: '111111111111', address: '::ffff:10.0.0.5' })).toBe(
      '111111111111|::ffff:10.0.0.5',
    );
  });

  it.each([
    [{ accountId: '11111111111', address: '10.0.0.1' }, /account id "11111111111"/],
    [{ accountId: 'unknown', address: '10.0.0.1' }, /account id "unknown"/],
    [{ accountId: '111111111111', address: '10.0.0.1|x' }, /source address/],
    [{ accountId: '111111111111', address: '' }, /source address/],
    [{ accountId: '111111111111', address: '10.0.0.1 ' }, /source address/],
    [{ accountId: '111111111111', vpcId: 'VPC-1', address: '10.0.0.1' }, /VPC id "VPC-1"/],
  ])('refuses %j naming the part', (identity, message) => {
    expect(() => sourceKey(identity)).toThrow(InvalidSourceKeyError);
    expect(() => sourceKey(identity)).toThrow(message);
  });
});

describe('parseSourceKey', () => {
  it('gives back the parts, undefined for an unknown account', () => {
    expect(parseSourceKey('111111111111|10.0.0.10')).toEqual({
      accountId: '111111111111',
      address: '10.0.0.10',
    });
    expect(parseSourceKey('-|10.0.0.10')).toEqual({ accountId: undefined, address: '10.0.0.10' });
    expect(parseSourceKey('222222222222|vpc-abc|fd00::1')).toEqual({
      accountId: '222222222222',
      vpcId: 'vpc-abc',
      address: 'fd00::1',
    });
  });

  it.each<[string, RegExp]>([
    ['10.0.0.10', /"10\.0\.0\.10": expected <accountId>\|<address> or <accountId>\|<vpcId>\|<address>/],
    ['fd00::1', /expected <accountId>\|<address>/],
    ['', /expected <accountId>\|<address>/],
    ['|10.0.0.1', /the account "" is not 12 digits or "-"/],
    ['abc|10.0.0.1', /the account "abc" is not 12 digits or "-"/],
    ['111111111111|', /"111111111111\|": no address/],
    ['1|2|3|4', /expected <accountId>\|<address>/],
    ['111111111111|vpc-1a|x|10.0.0.1', /expected <accountId>\|<address>/],
    ['111111111111', /expected <accountId>\|<address>/],
    ['111111111111|VPC|10.0.0.1', /the VPC "VPC" is not vpc-<hex>/],
  ])('refuses %j naming what is wrong (a bare address is the format before accounts)', (key, message) => {
    expect(() => parseSourceKey(key)).toThrow(InvalidSourceKeyError);
    expect(() => parseSourceKey(key)).toThrow(message);
    expect(isSourceKey(key)).toBe(false);
  });

  it('throws an error whose name says what it is (what a log line shows)', () => {
    expect(() => parseSourceKey('x')).toThrow(expect.objectContaining({ name: 'InvalidSourceKeyError' }));
  });

  const account = fc.oneof(fc.constant(undefined), fc.stringMatching(/^\d{12}$/));
  const vpc = fc.oneof(fc.constant(undefined), fc.stringMatching(/^vpc-[0-9a-f]{8,17}$/));
  const address = fc.oneof(fc.ipV4(), fc.ipV6());

  it('round-trips every identity, and the fast accessors agree with the parse', () => {
    fc.assert(
      fc.property(account, vpc, address, (accountId, vpcId, addr) => {
        const key = sourceKey({ accountId, vpcId, address: addr });
        const parsed = parseSourceKey(key);
        expect(parsed.accountId).toBe(accountId);
        expect(parsed.vpcId).toBe(vpcId);
        expect(parsed.address).toBe(addr);
        expect(addressOfKey(key)).toBe(addr);
        expect(accountOfKey(key)).toBe(accountId);
        expect(isSourceKey(key)).toBe(true);
      }),
    );
  });

  it('gives distinct keys to the same address in two accounts or two VPCs', () => {
    fc.assert(
      fc.property(address, fc.stringMatching(/^\d{12}$/), fc.stringMatching(/^\d{12}$/), (addr, a, b) => {
        fc.pre(a !== b);
        expect(sourceKey({ accountId: a, address: addr })).not.toBe(
          sourceKey({ accountId: b, address: addr }),
        );
        expect(sourceKey({ accountId: a, vpcId: 'vpc-1', address: addr })).not.toBe(
          sourceKey({ accountId: a, vpcId: 'vpc-2', address: addr }),
        );
      }),
    );
  });
});

describe('accountOfRecord', () => {
  it.each([
    ['111111111111', '111111111111'],
    ['unknown', '-'],
    ['-', '-'],
    ['', '-'],
    [undefined, '-'],
    ['12345', '-'],
    ['1111111111111', '-'],
    ['abcdefghijkl', '-'],
  ])('%j -> %j', (value, expected) => {
    expect(accountOfRecord(value)).toBe(expected);
  });
});

describe('vpcOfRecord and identityOfKey', () => {
  it('keeps a VPC id and drops anything else', () => {
    expect(vpcOfRecord('vpc-0a1b2c3d')).toBe('vpc-0a1b2c3d');
    expect(vpcOfRecord('-')).toBeUndefined();
    expect(vpcOfRecord('VPC-1')).toBeUndefined();
    expect(vpcOfRecord(undefined)).toBeUndefined();
  });

  it('reads a bare address (a key from before accounts) as an address of no account', () => {
    expect(identityOfKey('111111111111|10.0.0.10')).toEqual({
      accountId: '111111111111',
      address: '10.0.0.10',
    });
    expect(identityOfKey('10.0.0.10')).toEqual({ accountId: undefined, address: '10.0.0.10' });
    // The fast accessors read it the same way (the EC2 enricher asks accountOfKey which
    // account's role to take: a bare address once gave the account "10.0.0.").
    expect(accountOfKey('10.0.0.10')).toBeUndefined();
    expect(accountOfKey('fd00::1')).toBeUndefined();
    expect(accountOfKey('|10.0.0.10')).toBeUndefined();
    expect(addressOfKey('10.0.0.10')).toBe('10.0.0.10');
  });
});

describe('sourceLabel', () => {
  it('names the address, then the account (and its friendly name) and VPC', () => {
    expect(sourceLabel('111111111111|10.0.0.10')).toBe('10.0.0.10 in 111111111111');
    expect(sourceLabel('111111111111|10.0.0.10', 'prod')).toBe('10.0.0.10 in prod (111111111111)');
    expect(sourceLabel('111111111111|vpc-1a|10.0.0.10')).toBe('10.0.0.10 in 111111111111 vpc-1a');
    expect(sourceLabel('-|10.0.0.10')).toBe('10.0.0.10');
    expect(sourceLabel('-|vpc-1a|10.0.0.10')).toBe('10.0.0.10 in vpc-1a');
  });
});

describe('isAccountId and isVpcId (what a query may interpolate)', () => {
  it('take 12 digits, and vpc- with lower-case hex, nothing else', () => {
    expect(isAccountId('111111111111')).toBe(true);
    expect(isAccountId('11111111111')).toBe(false);
    expect(isAccountId('1111111111111')).toBe(false);
    expect(isAccountId("111111111111' or 1=1")).toBe(false);
    expect(isVpcId('vpc-0a1b2c3d4e5f60001')).toBe(true);
    expect(isVpcId('vpc-0A1B')).toBe(false);
    expect(isVpcId('vpc-')).toBe(false);
    expect(isVpcId('vpc-0a1b | filter 1=1')).toBe(false);
  });
});
