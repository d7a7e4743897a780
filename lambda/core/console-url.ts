/**
 * Where the AWS console of a Region is: the Region's own host in the commercial partition; China
 * and GovCloud have consoles of their own, which take the Region as a parameter only.
 */
export function consoleOrigin(region: string): string {
  if (region.startsWith('cn-')) return 'https://console.amazonaws.cn';
  if (region.startsWith('us-gov-')) return 'https://console.amazonaws-us-gov.com';
  return `https://${encodeURIComponent(region)}.console.aws.amazon.com`;
}
