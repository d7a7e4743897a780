import { assembleKernel, kernelModuleText } from '../../scripts/build-wasm';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ADDRESS_GROUP_SLOTS,
  ADDRESS_KEY,
  ADDRESS_LENGTH,
  ADDRESS_RECORD_BYTES,
  ADDRESS_ROLES,
  ADDRESS_SLOT_BITS,
  COUNT_HERE,
  COUNT_WINDOW_HIGH,
  COUNT_WINDOW_LOW,
  COUNTED,
  DIRTY_SLOTS,
  DONE,
  newLineKernel,
  RECORD_SLOTS,
  RECORDS,
  REJECTED,
  slotOfMissing,
  STOPPED_LINE_END,
} from '../../lambda/replay/line-kernel';

describe('the WebAssembly line kernel', () => {
  it('is built from line-kernel.wat as it stands (npm run build:wasm after editing it)', async () => {
    const committed = readFileSync(
      join(__dirname, '..', '..', 'lambda', 'replay', 'line-kernel-wasm.ts'),
      'utf8',
    );
    expect(committed).toBe(kernelModuleText(await assembleKernel()));
  });

  it('reads ACCEPT rows itself, hands back REJECT rows as records and stops at any other line', () => {
    const kernel = newLineKernel();
    const lines = [
      '2 123456789012 eni-0a1 10.0.1.5 203.0.113.9 49152 443 6 3 180 1790812800 1790812860 ACCEPT OK',
      '2 123456789012 eni-0a1 10.0.1.5 203.0.113.9 49152 443 6 3 180 1790812900 1790812960 REJECT OK',
      '2 123456789012 eni-0a1 10.0.1.5 203.0.113.9 49152 443 6 3 180 1790812700 1790812760 ACCEPT OK\r',
      '2 123456789012 eni-0a1 - - - - - - - 1790812800 1790812860 - NODATA',
      '2 123456789012 eni-0a1 10.0.1.5 203.0.113.9 49152 443 6 3 180 1790813000 1790813060 REJECT OK',
    ];
    const text = Buffer.from(`${lines.join('\n')}\n`, 'latin1');
    text.copy(kernel.bytes, kernel.inputStart);
    const from = kernel.inputStart;
    const to = from + text.length;
    kernel.uint32[1] = 0xffffffff;
    const stopped = kernel.scan(from, to, 0);
    // Stopped at the NODATA row, after two ACCEPT rows and one REJECT record.
    const nodataStart = from + lines.slice(0, 3).join('\n').length + 1;
    expect(stopped).toBe(nodataStart);
    expect(kernel.int32[STOPPED_LINE_END]).toBe(nodataStart + (lines[3] as string).length);
    expect([kernel.int32[0], kernel.uint32[1], kernel.uint32[2]]).toEqual([2, 1790812700, 1790812800]);
    expect(kernel.int32[RECORDS]).toBe(1);
    const record = [...kernel.int32.subarray(kernel.recordsIndex, kernel.recordsIndex + RECORD_SLOTS)];
    const lineStart = from + (lines[0] as string).length + 1;
    const text1 = lines[1] as string;
    const srcFrom = lineStart + text1.indexOf('10.0.1.5');
    expect(record).toEqual([
      lineStart,
      lineStart + text1.length,
      srcFrom,
      srcFrom + '10.0.1.5'.length,
      srcFrom + '10.0.1.5 203.0.113.9'.length,
      1790812900,
      -1, // addresses not looked up (resolve off)
      -1,
    ]);
    // Going on after the stopped line: the last REJECT row, then done.
    expect(kernel.scan((kernel.int32[STOPPED_LINE_END] as number) + 1, to, 0)).toBe(to);
    expect(kernel.int32[STOPPED_LINE_END]).toBe(DONE);
    expect(kernel.int32[RECORDS]).toBe(1);
    expect(kernel.uint32[kernel.recordsIndex + 5]).toBe(1790813000);
  });
});

describe('the kernel counting rows itself', () => {
  it('counts rows that count, in the window it is given, by source slot; hands back the others', () => {
    const kernel = newLineKernel();
    // The address table holds the source (internal: valid, counting source) and destination
    // (valid, counting destination), filled as the scanner fills it.
    const put = (address: string, slot: number, roles: number) => {
      const record = kernel.addressTable + slot * ADDRESS_RECORD_BYTES;
      kernel.bytes.fill(0, record + ADDRESS_KEY, record + ADDRESS_KEY + 16);
      kernel.bytes.write(address, record + ADDRESS_KEY, 'latin1');
      kernel.bytes[record + ADDRESS_LENGTH] = address.length;
      kernel.bytes[record + ADDRESS_ROLES] = roles;
    };
    const slotOf = (address: string): number => {
      const bytes = Buffer.alloc(16);
      bytes.write(address, 'latin1');
      let hash = Math.imul(bytes.readInt32LE(0), 0x9e3779b1) ^ bytes.readInt32LE(4);
      hash = Math.imul(hash, 0x85ebca77) ^ bytes.readInt32LE(8);
      hash = Math.imul(hash, 0xc2b2ae3d) ^ bytes.readInt32LE(12);
      hash = Math.imul(hash ^ (hash >>> 15), 0x27d4eb2f);
      // The first slot of the address's group (where an empty group's lookup puts it).
      return (hash >>> (32 - ADDRESS_SLOT_BITS + 2)) * ADDRESS_GROUP_SLOTS;
    };
    put('10.0.1.5', slotOf('10.0.1.5'), 1 | 2);
    put('10.0.1.6', slotOf('10.0.1.6'), 1 | 2);
    put('203.0.113.9', slotOf('203.0.113.9'), 1 | 4);
    const row = (src: string, start: number) =>
      `2 123456789012 eni-0a1 ${src} 203.0.113.9 49152 443 6 3 180 ${start} ${start + 60} REJECT OK`;
    const lines = [
      row('10.0.1.5', 1790812800),
      row('10.0.1.6', 1790813000),
      row('10.0.1.5', 1790816399), // the window's last second
      row('10.0.1.5', 1790816400), // the next window: handed back
      row('10.0.1.5', 1790812900),
    ];
    const text = Buffer.from(`${lines.join('\n')}\n`, 'latin1');
    text.copy(kernel.bytes, kernel.inputStart);
    kernel.uint32[1] = 0xffffffff;
    kernel.int32[COUNT_HERE] = 1;
    kernel.uint32[COUNT_WINDOW_LOW] = 1790812800;
    kernel.uint32[COUNT_WINDOW_HIGH] = 1790816399;
    expect(kernel.scan(kernel.inputStart, kernel.inputStart + text.length, 1)).toBe(
      kernel.inputStart + text.length,
    );
    expect([kernel.int32[COUNTED], kernel.int32[DIRTY_SLOTS], kernel.int32[RECORDS]]).toEqual([4, 2, 1]);
    const dirty = [...kernel.uint32.subarray(kernel.dirtyIndex, kernel.dirtyIndex + 2)];
    expect(dirty).toEqual([slotOf('10.0.1.5'), slotOf('10.0.1.6')]);
    expect(dirty.map((slot) => kernel.uint32[kernel.slotCountsIndex + slot])).toEqual([3, 1]);
    expect(kernel.uint32[kernel.recordsIndex + 5]).toBe(1790816400);
    // Every row was read whole: REJECT rows, and in the start histogram.
    expect(kernel.int32[REJECTED]).toBe(5);
    expect(kernel.uint32[kernel.histogramIndex + (1790812800 >>> 16)]).toBe(5);
  });
});

describe("the kernel's address table", () => {
  const T = 1790812800;
  const line = (src: string) =>
    Buffer.from(
      `2 123456789012 eni-0a1 ${src} 203.0.113.9 49152 443 6 3 180 ${T} ${T + 60} REJECT OK\n`,
      'latin1',
    );
  /** The kernel's answer for a line with `src`: the source's slot (>= 0) or -2 - the slot to fill. */
  const lookUp = (kernel: ReturnType<typeof newLineKernel>, src: string): number => {
    const text = line(src);
    text.copy(kernel.bytes, kernel.inputStart);
    kernel.int32[RECORDS] = 0;
    kernel.scan(kernel.inputStart, kernel.inputStart + text.length, 1);
    expect(kernel.int32[RECORDS]).toBe(1);
    return kernel.int32[kernel.recordsIndex + 6] as number;
  };
  /** Fills a slot as the scanner does (valid, a counting source). */
  const put = (kernel: ReturnType<typeof newLineKernel>, slot: number, address: string) => {
    const record = kernel.addressTable + slot * ADDRESS_RECORD_BYTES;
    kernel.bytes.fill(0, record + ADDRESS_KEY, record + ADDRESS_KEY + 16);
    kernel.bytes.write(address, record + ADDRESS_KEY, 'latin1');
    kernel.bytes[record + ADDRESS_LENGTH] = address.length;
    kernel.bytes[record + ADDRESS_ROLES] = 1 | 2;
  };

  it('holds as many addresses of one group as the group has slots; one more replaces one of them', () => {
    const kernel = newLineKernel();
    // Addresses whose lookup in the empty table names the same slot: one group.
    const byFirst = new Map<number, string[]>();
    let group: string[] = [];
    for (let i = 0; group.length <= ADDRESS_GROUP_SLOTS; i += 1) {
      const address = `10.${(i >> 8) & 255}.${i & 255}.7`;
      const first = slotOfMissing(lookUp(kernel, address));
      group = [...(byFirst.get(first) ?? []), address];
      byFirst.set(first, group);
    }
    const first = slotOfMissing(lookUp(kernel, group[0] as string));
    // Each new address of the group takes the group's next empty slot.
    const slots = group.slice(0, ADDRESS_GROUP_SLOTS).map((address) => {
      const code = lookUp(kernel, address);
      expect(code).toBeLessThan(-1);
      put(kernel, slotOfMissing(code), address);
      return slotOfMissing(code);
    });
    expect(slots).toEqual(Array.from({ length: ADDRESS_GROUP_SLOTS }, (_, k) => first + k));
    // All of them are found, in their own slots.
    expect(group.slice(0, ADDRESS_GROUP_SLOTS).map((address) => lookUp(kernel, address))).toEqual(slots);
    // One more: missing, to replace one of the group's slots.
    const extra = slotOfMissing(lookUp(kernel, group[ADDRESS_GROUP_SLOTS] as string));
    expect(slots).toContain(extra);
    put(kernel, extra, group[ADDRESS_GROUP_SLOTS] as string);
    expect(lookUp(kernel, group[ADDRESS_GROUP_SLOTS] as string)).toBe(extra);
    const replaced = group[slots.indexOf(extra)] as string;
    expect(lookUp(kernel, replaced)).toBeLessThan(-1);
  });
});
