/**
 * The WebAssembly line kernel (line-kernel.wat): an instance per scanner, with views of its
 * memory. The module is compiled once per thread, when the first scanner asks for it.
 */
import { LINE_KERNEL_WASM_BASE64 } from './line-kernel-wasm';

// The part of the WebAssembly API used here (the project's TypeScript libs do not declare it).
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: unknown };
}
const webAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

interface KernelExports {
  memory: { buffer: ArrayBuffer };
  inputStart: { value: number };
  inputCapacity: { value: number };
  recordsStart: { value: number };
  recordCapacity: { value: number };
  addressKeys: { value: number };
  addressLengths: { value: number };
  addressRoles: { value: number };
  scan(from: number, to: number, resolve: number): number;
}

/** Header slots (i32 indexes) the kernel reads and writes; the starts cover every row it reads whole. */
export const ACCEPTED = 0;
export const EARLIEST_START = 1;
export const LATEST_START = 2;
export const RECORDS = 3;
export const STOPPED_LINE_END = 4;
export const REJECTED = 5;
/** STOPPED_LINE_END when the kernel read every line. */
export const DONE = -1;
/** STOPPED_LINE_END when the kernel paused after a record with an address its table lacks. */
export const PAUSED = -2;
/**
 * i32 slots per record: line start, line end, source start, source end, destination end, start
 * time, source slot, destination slot. Both slots found (>= 0): a row read whole that counts.
 */
export const RECORD_SLOTS = 8;
/** A record's address slot: NOT_LOOKED_UP, a slot the table holds it in, or missing(slot). */
export const NOT_LOOKED_UP = -1;
export const slotOfMissing = (code: number): number => -2 - code;

export interface LineKernel {
  /** `resolve`: look REJECT rows' addresses up in the address table (see line-kernel.wat). */
  scan(from: number, to: number, resolve: number): number;
  /** The kernel's memory as bytes, a DataView and i32/u32 arrays (fixed: it never grows). */
  bytes: Buffer;
  words: DataView;
  int32: Int32Array;
  uint32: Uint32Array;
  inputStart: number;
  inputCapacity: number;
  /** First i32 index of the record region. */
  recordsIndex: number;
  /** Byte offsets of the address table: 16 key bytes, a length and a roles byte per slot. */
  addressKeys: number;
  addressLengths: number;
  addressRoles: number;
}

let compiled: object | undefined;

/** A new kernel instance (4 MB of memory). WebAssembly SIMD is in every Node.js from 16.4. */
export function newLineKernel(): LineKernel {
  compiled ??= new webAssembly.Module(Buffer.from(LINE_KERNEL_WASM_BASE64, 'base64'));
  const exports = new webAssembly.Instance(compiled).exports as unknown as KernelExports;
  const memory = exports.memory.buffer;
  // Records come from lines of at least 35 bytes: the region must hold those of a full input.
  if (exports.recordCapacity.value * 35 < exports.inputCapacity.value)
    throw new Error('line kernel: the record region is smaller than a full input needs');
  return {
    scan: exports.scan,
    bytes: Buffer.from(memory),
    words: new DataView(memory),
    int32: new Int32Array(memory),
    uint32: new Uint32Array(memory),
    inputStart: exports.inputStart.value,
    inputCapacity: exports.inputCapacity.value,
    recordsIndex: exports.recordsStart.value / 4,
    addressKeys: exports.addressKeys.value,
    addressLengths: exports.addressLengths.value,
    addressRoles: exports.addressRoles.value,
  };
}
