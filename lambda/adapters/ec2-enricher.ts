/**
 * Optional enrichment (ENRICH_WITH_EC2=true): which instance, VPC and subnet an alerted source's
 * network interfaces belong to, and the instance's Name tag. One DescribeNetworkInterfaces call
 * per run for the interfaces not seen yet (cached for the run). A failure is logged and the
 * alert goes out without enrichment: enrichment never blocks an alert.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { AlertDetails } from '../core';

/**
 * The EC2 client module, loaded on first use: it takes about a third of a second to load, more
 * than the rest of the handler together, and most deployments leave enrichment off. (A synchronous
 * require: the bundle is CommonJS, and a dynamic import() would not run under Jest.)
 */
export function loadEc2Module(): typeof import('@aws-sdk/client-ec2') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@aws-sdk/client-ec2') as typeof import('@aws-sdk/client-ec2');
}

export interface EnricherLogger {
  warn(message: string, ...extra: Record<string, unknown>[]): void;
}

/** DescribeNetworkInterfaces takes at most 1000 ids per filter value list; stay well under. */
const IDS_PER_CALL = 200;
const ENI_ID = /^eni-[0-9a-f]{8,17}$/;

export class Ec2Enricher {
  private readonly cache = new Map<string, Record<string, string>>();

  constructor(private readonly options: { client: Pick<EC2Client, 'send'>; logger: EnricherLogger }) {}

  /** Returns the details with `resources` filled in for the interfaces EC2 knows. Never throws. */
  async enrich(details: ReadonlyMap<string, AlertDetails>): Promise<Map<string, AlertDetails>> {
    const wanted = [...new Set([...details.values()].flatMap((d) => d.interfaceIds))].filter(
      (id) => ENI_ID.test(id) && !this.cache.has(id),
    );
    try {
      for (let i = 0; i < wanted.length; i += IDS_PER_CALL)
        await this.lookUp(wanted.slice(i, i + IDS_PER_CALL));
    } catch (error) {
      this.options.logger.warn('EC2 enrichment failed; alerts go out without it', {
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        interfaces: wanted.length,
      });
    }
    const enriched = new Map<string, AlertDetails>();
    for (const [srcIp, d] of details) {
      const resources = Object.fromEntries(
        d.interfaceIds.flatMap((id) => {
          const resource = this.cache.get(id);
          return resource && Object.keys(resource).length > 0 ? [[id, resource] as const] : [];
        }),
      );
      enriched.set(
        srcIp,
        Object.keys(resources).length === 0 ? d : { ...d, resources: { ...d.resources, ...resources } },
      );
    }
    return enriched;
  }

  private async lookUp(ids: string[]): Promise<void> {
    const { DescribeNetworkInterfacesCommand } = loadEc2Module();
    let nextToken: string | undefined;
    do {
      const response = await this.options.client.send(
        new DescribeNetworkInterfacesCommand({
          Filters: [{ Name: 'network-interface-id', Values: ids }],
          NextToken: nextToken,
        }),
      );
      for (const eni of response.NetworkInterfaces ?? []) {
        if (!eni.NetworkInterfaceId) continue;
        const name = eni.TagSet?.find((t) => t.Key === 'Name')?.Value;
        const resource: Record<string, string> = {};
        if (eni.Attachment?.InstanceId) resource.instanceId = eni.Attachment.InstanceId;
        if (eni.VpcId) resource.vpcId = eni.VpcId;
        if (eni.SubnetId) resource.subnetId = eni.SubnetId;
        if (eni.InterfaceType) resource.interfaceType = eni.InterfaceType;
        if (name) resource.name = name;
        else if (eni.Description) resource.description = eni.Description;
        this.cache.set(eni.NetworkInterfaceId, resource);
      }
      nextToken = response.NextToken;
    } while (nextToken);
    // Interfaces EC2 does not know (deleted since): remember that too, so they are not asked for again.
    for (const id of ids) if (!this.cache.has(id)) this.cache.set(id, {});
  }
}
