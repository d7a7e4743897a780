/**
 * Placeholder so the CDK stack has an entry to bundle on this branch. The real detector handler
 * lands with the Lambda runtime branch and replaces this file whole.
 */
export async function handler(): Promise<never> {
  throw new Error('not implemented: the detector handler lands with the Lambda runtime');
}
