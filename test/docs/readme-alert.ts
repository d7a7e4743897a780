/**
 * The alert the README and docs/design.md show: one spike of the recommended preset, rendered by
 * the production formatter (test/docs/alert-examples.test.ts holds the pages to its output).
 */
import type { Alert } from '../../lambda/core/detect';

export const README_ALERT: Alert = {
  alertId: '2026-11-27T09:00:00Z/111122223333|10.0.1.23',
  kind: 'spike',
  preset: 'recommended',
  severity: 'high',
  windowStart: '2026-11-27T09:00:00Z',
  windowEnd: '2026-11-27T10:00:00Z',
  srcIp: '10.0.1.23',
  accountId: '111122223333',
  accountName: 'payments-prod',
  blockedCount: 412,
  uniqueDestinations: 37,
  baseline: { mean: 12.4841, sd: 4.0261, dataPoints: 345 },
  zScore: 99.2325,
  tailProbability: 4.6352e-210,
  threshold: 1 / (24 * 38),
  details: {
    topDestinations: [
      { address: '203.0.113.50', port: 443, protocol: 6, count: 198 },
      { address: '203.0.113.51', port: 443, protocol: 6, count: 97 },
      { address: '198.51.100.23', port: 4444, protocol: 6, count: 61 },
    ],
    totalDestinations: 41,
    interfaceIds: ['eni-0a1b2c3d4e5f67890'],
  },
};

export const README_ALERT_CONTEXT = {
  region: 'eu-west-1',
  logGroupIdentifiers: ['/vpc/flow-logs/prod'],
};
