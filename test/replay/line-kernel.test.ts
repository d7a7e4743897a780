import { assembleKernel, kernelModuleText } from '../../scripts/build-wasm';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DONE,
  newLineKernel,
  RECORD_SLOTS,
  RECORDS,
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
