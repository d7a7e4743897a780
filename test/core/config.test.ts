import * as z from 'zod/mini';
import {
  ConfigError,
  describeIssues,
  PRESET_DEFAULTS,
  resolveDetectorConfig,
  resolveDetectorConfigJson,
} from '../../lambda/core/config';

describe('resolveDetectorConfig', () => {
  it('defaults to the recommended preset with the documented values', () => {
    // Act
    const config = resolveDetectorConfig({});
    // Assess
    expect(config).toMatchObject({
      preset: 'recommended',
      windowMinutes: 60,
      lagMinutes: 20,
      maxCatchUpWindows: 24,
      internalCidrs: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'],
      baselineWindow: 720,
      minDataPoints: 24,
      deviationThreshold: 3,
      minBlockedCount: 10,
      newSourceMinCount: 100,
      falseAlertBudgetPerDay: 1,
      cooldownMinutes: 240,
      escalationFactor: 2,
      massSpikeMinSources: 5,
      massSpikeFraction: 0.2,
      maxWindowAttempts: 6,
      maxAlertRefusals: 6,
    });
  });

  it('takes the splunk-escu bundle and lets explicit values win over it', () => {
    const config = resolveDetectorConfig({ preset: 'splunk-escu', cooldownMinutes: 60 });
    expect(config.minDataPoints).toBe(5);
    expect(config.newSourceMinCount).toBe(0);
    expect(config.massSpikeMinSources).toBe(0);
    expect(config.cooldownMinutes).toBe(60);
    expect(PRESET_DEFAULTS['splunk-escu'].cooldownMinutes).toBe(0);
  });

  it('normalises a ${field} format string to bare names', () => {
    const config = resolveDetectorConfig({
      flowLogFormat: '${version} ${srcaddr} ${dstaddr} ${action} ${start}',
    });
    expect(config.flowLogFormat).toBe('version srcaddr dstaddr action start');
  });

  it.each([
    [{ internalCidrs: ['10.0.0.0/8', '10.0.0.0/33'] }, 'config.internalCidrs[1]: invalid CIDR "10.0.0.0/33"'],
    [{ internalCidrs: ['10.1.2.3/8'] }, 'host bits are set; did you mean 10.0.0.0/8'],
    [{ internalCidrs: ['10.0.0.0/8"); drop'] }, 'config.internalCidrs[0]: invalid CIDR'],
    [{ internalCidrs: [] }, 'config.internalCidrs: at least one internal CIDR'],
    [{ excludeSourceCidrs: ['fd00::/200'] }, 'config.excludeSourceCidrs[0]: invalid CIDR'],
    [{ windowMinutes: 7 }, 'config.windowMinutes: must divide a day'],
    [{ windowMinutes: 60.5 }, 'config.windowMinutes'],
    [{ lagMinutes: -1 }, 'config.lagMinutes'],
    [{ baselineWindow: 1 }, 'config.baselineWindow'],
    [{ deviationThreshold: 0 }, 'config.deviationThreshold'],
    [{ massSpikeFraction: 1.5 }, 'config.massSpikeFraction'],
    [{ massSpikeMinSources: 1 }, 'config.massSpikeMinSources: must be 0 (no mass spikes) or 2 or more'],
    [{ falseAlertBudgetPerDay: 0 }, 'config.falseAlertBudgetPerDay'],
    [{ escalationFactor: 0.5 }, 'config.escalationFactor'],
    [{ preset: 'aggressive' }, 'config.preset'],
    [{ minDataPoints: '24' }, 'config.minDataPoints'],
    [{ thresold: 3 }, 'thresold'],
    [
      { preset: 'splunk-escu', jobOccurrencesToLearn: 3 },
      'config.jobOccurrencesToLearn: recurring-job learning is a recommended-preset feature',
    ],
    [
      { preset: 'splunk-escu', rhythm: true },
      'config.rhythm: rhythm-aware baselines are a recommended-preset feature',
    ],
    [
      // N - 1 = k^2 exactly: mean + k sd after folding the count in is never exceeded.
      { preset: 'splunk-escu', baselineWindow: 10, deviationThreshold: 3 },
      'config.deviationThreshold: with the splunk-escu preset no count can exceed mean + k sd unless baselineWindow - 1 > deviationThreshold^2 (ESCU folds the count in before comparing): with baselineWindow 10 and deviationThreshold 3 no window could ever alert; lower deviationThreshold below 3 or raise baselineWindow above 10',
    ],
    [
      { preset: 'splunk-escu', baselineWindow: 720, deviationThreshold: 30 },
      'lower deviationThreshold below 26.81 or raise baselineWindow above 901',
    ],
    [
      { windowMinutes: 120, rhythm: true },
      'config.rhythm: rhythm-aware baselines need windows that divide an hour (1-60 minutes: 5, 10, 15, 30, 60...), so that every local hour is fed evenly; with windowMinutes 120 leave rhythm out or set it to false (got true)',
    ],
    [{ windowMinutes: 45, rhythm: true }, 'with windowMinutes 45 leave rhythm out'],
    [{ internalCidrs: [42] }, 'config.internalCidrs[0]'],
    [{ flowLogFormat: '${version} ${srcaddr}' }, 'lacks required field(s): dstaddr, action, start'],
    [
      { flowLogFormat: 'version srcaddr dstaddr action start bogus-field' },
      'unknown flow log field "bogus-field"',
    ],
    [
      { accountNames: { '12345': 'prod' } },
      'config.accountNames.12345: "12345" is not an account id (12 digits)',
    ],
    [
      { accountNames: { '111111111111': '' } },
      'config.accountNames.111111111111: an account name may not be empty',
    ],
    [{ accountNames: { '111111111111': 'x'.repeat(65) } }, 'at most 64 characters'],
    [{ accountNames: { '111111111111': 'prod\nfake line' } }, 'one line of printable text'],
    [{ accountNames: { '111111111111': 'prod ' } }, 'one line of printable text'],
    [{ accountNames: ['prod'] }, 'config.accountNames'],
    [{ maxAlertRefusals: 0 }, 'config.maxAlertRefusals'],
    [{ maxAlertRefusals: 101 }, 'config.maxAlertRefusals'],
    [{ maxAlertRefusals: 2.5 }, 'config.maxAlertRefusals'],
  ])('rejects %j naming the field', (input, message) => {
    expect(() => resolveDetectorConfig(input, 'config')).toThrow(ConfigError);
    expect(() => resolveDetectorConfig(input, 'config')).toThrow(message);
  });

  it('accepts an ESCU threshold a count can exceed, and any threshold in the recommended preset', () => {
    // 11 - 1 > 3^2: a count far enough above the mean is an ESCU spike.
    expect(
      resolveDetectorConfig({ preset: 'splunk-escu', baselineWindow: 11, deviationThreshold: 3 }),
    ).toMatchObject({
      baselineWindow: 11,
      deviationThreshold: 3,
    });
    // The recommended preset compares with the baseline from before the window: k only caps what a spike teaches.
    expect(
      resolveDetectorConfig({ preset: 'recommended', baselineWindow: 4, deviationThreshold: 3 }),
    ).toMatchObject({
      baselineWindow: 4,
    });
  });

  it.each([
    [1, true],
    [15, true],
    [30, true],
    [60, true],
    [45, false],
    [90, false],
    [120, false],
    [1440, false],
  ])(
    'with windowMinutes %i, rhythm-aware baselines are on by default: %s (windows must divide an hour)',
    (windowMinutes, rhythm) => {
      expect(resolveDetectorConfig({ windowMinutes }).rhythm).toBe(rhythm);
      expect(resolveDetectorConfig({ windowMinutes, rhythm: false }).rhythm).toBe(false);
    },
  );

  it('takes an unset or blank JSON setting as the defaults, and JSON null as {}', () => {
    const defaults = resolveDetectorConfig({});
    for (const json of [undefined, '', '  \n'])
      expect(resolveDetectorConfigJson(json, 'DETECTOR_CONFIG')).toEqual(defaults);
    expect(resolveDetectorConfig(null)).toEqual(defaults);
    expect(resolveDetectorConfig()).toEqual(defaults);
    expect(resolveDetectorConfigJson('{"preset":"splunk-escu"}', 'DETECTOR_CONFIG').preset).toBe(
      'splunk-escu',
    );
  });

  it('keeps account names as given, and has none by default', () => {
    const names = { '111111111111': 'payments-prod', '222222222222': 'Équipe données (staging)' };
    expect(resolveDetectorConfig({ accountNames: names }).accountNames).toEqual(names);
    expect(resolveDetectorConfig({}).accountNames).toBeUndefined();
    const many = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [String(1e11 + i), `a${i}`]));
    expect(() => resolveDetectorConfig({ accountNames: many })).toThrow('at most 1000 account names');
    const thousand = Object.fromEntries(Object.entries(many).slice(0, 1000));
    expect(Object.keys(resolveDetectorConfig({ accountNames: thousand }).accountNames ?? {})).toHaveLength(
      1000,
    );
    expect(() => resolveDetectorConfig({ accountNames: { '1111111111112': 'prod' } })).toThrow(
      '"1111111111112" is not an account id (12 digits)',
    );
  });

  it('names the origin and the JSON error for unparsable JSON', () => {
    expect(() => resolveDetectorConfigJson('{"preset":', 'DETECTOR_CONFIG')).toThrow(
      /^DETECTOR_CONFIG: not valid JSON/,
    );
  });

  it('throws a ConfigError that says its class and where the config came from', () => {
    expect(() => resolveDetectorConfig({ lagMinutes: 99999 }, 'DETECTOR_CONFIG')).toThrow(
      expect.objectContaining({ name: 'ConfigError', origin: 'DETECTOR_CONFIG' }),
    );
    expect(() => resolveDetectorConfigJson('{', 'replay.json')).toThrow(
      expect.objectContaining({ name: 'ConfigError', origin: 'replay.json' }),
    );
  });

  it('shows the offending value', () => {
    expect(() => resolveDetectorConfig({ lagMinutes: 99999 })).toThrow('(got 99999)');
  });

  it('names an unknown key alone, without repeating the whole config after it', () => {
    expect(() => resolveDetectorConfig({ thresold: 3, lagMinutes: 20 }, 'config')).toThrow(
      /^config: Unrecognized key: "thresold"$/,
    );
  });
});

describe('config errors and defaults', () => {
  it('names the origin "config" when no other is given', () => {
    expect(() => resolveDetectorConfig({ windowMinutes: 60.5 })).toThrow(/^config\.windowMinutes: /);
  });

  it('gives one line per bad field', () => {
    let message = '';
    try {
      resolveDetectorConfig({ windowMinutes: 60.5, lagMinutes: -1 });
    } catch (error) {
      message = (error as Error).message;
    }
    const lines = message.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines.map((line) => line.split(':')[0]).sort()).toEqual([
      'config.lagMinutes',
      'config.windowMinutes',
    ]);
  });

  it('shows no "(got ...)" for a value that is not there', () => {
    const schema = z.object({ window: z.number() });
    const input = {};
    const parsed = schema.safeParse(input);
    expect(parsed.success).toBe(false);
    const message = describeIssues('config', parsed.error!, input);
    expect(message).toMatch(/^config\.window: /);
    expect(message).not.toContain('(got');
  });

  it('takes a setting given as undefined (a JavaScript caller) for its default', () => {
    const config = resolveDetectorConfig({ windowMinutes: undefined, preset: undefined });
    expect(config.windowMinutes).toBe(resolveDetectorConfig({}).windowMinutes);
    expect(config.preset).toBe('recommended');
  });
});
