/**
 * A flow log file where every source is new: a busy fleet's first export. Thousands of distinct
 * internal sources, most of them with well over `newSourceMinCount` (100) blocked records in the
 * first hour, each to a few usual destinations and to some of a large pool of others. A fresh
 * replay used to raise a new-source alert for most of them in the first window (and read their
 * details); now that window only learns. The throughput benchmark (bench/replay.ts) runs on it
 * beside the sample-based file, and the splunk-escu preset raises thousands of spikes on it.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { poisson, seededRandom } from '../../lambda/core/random';
import { V2_HEADER } from '../../scripts/flow-log-sample';

export interface ManySourcesOptions {
  /** Distinct internal sources (IPv4 in 10.0.0.0/8). @default 2000 */
  sources?: number;
  /** Hours of records. @default 8 */
  hours?: number;
  /** @default 2026-10-01T00:00Z */
  startMs?: number;
  /** @default 9090 */
  seed?: number;
}

const HOUR_MS = 3_600_000;

/** Writes the file (plain text, a header line first); returns the number of lines. */
export async function writeManySources(path: string, options: ManySourcesOptions = {}): Promise<number> {
  const random = seededRandom(options.seed ?? 9090);
  const sourceCount = options.sources ?? 2000;
  const hours = options.hours ?? 8;
  const startMs = options.startMs ?? Date.UTC(2026, 9, 1);
  const octet = (): number => 1 + Math.floor(random() * 254);
  const publicV4 = (): string =>
    `${pick(random, [3, 13, 18, 34, 35, 52, 54, 104, 151, 185])}.${octet()}.${octet()}.${octet()}`;
  const pool = Array.from({ length: 50_000 }, publicV4);
  const sources = Array.from({ length: sourceCount }, (_, i) => ({
    ip: `10.${1 + Math.floor(i / 62_000)}.${Math.floor((i % 62_000) / 250)}.${1 + (i % 250)}`,
    eni: `eni-0${Math.floor(random() * 2 ** 52)
      .toString(16)
      .padStart(16, '0')}`,
    // Log-uniform from 20 to 400 blocked records an hour: about 60% above 100.
    rate: Math.exp(Math.log(20) + random() * (Math.log(400) - Math.log(20))),
    usual: Array.from({ length: 3 + Math.floor(random() * 6) }, publicV4),
  }));
  const file = createWriteStream(path);
  let lines = 1;
  file.write(`${V2_HEADER}\n`);
  for (let hour = 0; hour < hours; hour += 1) {
    const hourStart = Math.floor((startMs + hour * HOUR_MS) / 1000);
    const out: string[] = [];
    const row = (eni: string, src: string, dst: string, port: number, action: string): void => {
      const start = hourStart + Math.floor(random() * 3540);
      const packets = 1 + Math.floor(random() * 3);
      out.push(
        `2 123456789012 ${eni} ${src} ${dst} ${32768 + Math.floor(random() * 28000)} ${port} 6 ${packets} ${packets * (40 + Math.floor(random() * 1400))} ${start} ${start + 1 + Math.floor(random() * 59)} ${action} OK`,
      );
    };
    for (const source of sources) {
      for (let i = poisson(random, source.rate); i > 0; i -= 1) {
        const dst = random() < 0.7 ? pick(random, source.usual) : pick(random, pool);
        row(source.eni, source.ip, dst, pick(random, [443, 443, 80, 123, 8080]), 'REJECT');
      }
      for (let i = poisson(random, source.rate / 2); i > 0; i -= 1)
        row(source.eni, source.ip, pick(random, pool), pick(random, [443, 80]), 'ACCEPT');
      for (let i = poisson(random, 2); i > 0; i -= 1)
        row(source.eni, pick(random, pool), source.ip, pick(random, [22, 3389, 445]), 'REJECT');
    }
    lines += out.length;
    if (!file.write(`${out.join('\n')}\n`)) await once(file, 'drain');
  }
  file.end();
  await once(file, 'close');
  return lines;
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}
