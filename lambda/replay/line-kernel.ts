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
  addressTable: { value: number };
  histogram: { value: number };
  slotCounts: { value: number };
  dirtySlots: { value: number };
  slotAccounts: { value: number };
  scan(from: number, to: number, resolve: number): number;
}

/** Header slots (i32 indexes) the kernel reads and writes; the starts cover every row it reads whole. */
export const ACCEPTED = 0;
export const EARLIEST_START = 1;
export const LATEST_START = 2;
export const RECORDS = 3;
export const STOPPED_LINE_END = 4;
export const REJECTED = 5;
/** The lowest and highest start (unsigned epoch seconds) a row the kernel reads may have. */
export const BAND_LOW = 6;
export const BAND_HIGH = 7;
/**
 * Counting in the kernel (line-kernel.wat): whether to (0 or 1), the lowest and highest start of
 * the window to count in (unsigned epoch seconds); rows counted so, and slots on the dirty list
 * (the caller moves the counts out and zeroes both).
 */
export const COUNT_HERE = 8;
export const COUNT_WINDOW_LOW = 9;
export const COUNT_WINDOW_HIGH = 10;
export const COUNTED = 11;
export const DIRTY_SLOTS = 12;
/** Buckets of the start histogram: a row's bucket is its start >>> START_BUCKET_BITS (about 18 hours). */
export const START_BUCKETS = 65_536;
/**
 * The address table's slots (2^ADDRESS_SLOT_BITS), in groups of ADDRESS_GROUP_SLOTS: the top
 * ADDRESS_SLOT_BITS - 2 bits of an address's hash choose its group, any slot of which may hold it
 * ($lookup).
 */
export const ADDRESS_SLOT_BITS = 18;
export const ADDRESS_GROUP_SLOTS = 4;
/** Bytes of a slot, and where in it the key (16 bytes, zero-padded), its length and its roles are. */
export const ADDRESS_RECORD_BYTES = 32;
export const ADDRESS_KEY = 0;
export const ADDRESS_LENGTH = 16;
export const ADDRESS_ROLES = 17;
export const START_BUCKET_BITS = 16;
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
  /** Byte offset of the address table: ADDRESS_RECORD_BYTES a slot (see ADDRESS_KEY, ...). */
  addressTable: number;
  /** First u32 index of the start histogram (START_BUCKETS counters: rows read whole). */
  histogramIndex: number;
  /** First u32 indexes of the rows counted per source slot and of the dirty list (slots). */
  slotCountsIndex: number;
  dirtyIndex: number;
  /**
   * Byte offset of the account of each slot's counted rows: 16 bytes a slot, the 12 bytes of
   * account-id and a 1 (all zero: none yet); zeroed by the caller when a slot gets another address.
   */
  slotAccounts: number;
}

let compiled: object | undefined;

/** Bytes of a slot's account (SLOT_ACCOUNT_BYTES apart): the account-id is the first 12. */
export const SLOT_ACCOUNT_BYTES = 16;
export const SLOT_ACCOUNT_LENGTH = 12;

/** A new kernel instance (18 MB of memory). WebAssembly SIMD is in every Node.js from 16.4. */
export function newLineKernel(): LineKernel {
  compiled ??= new webAssembly.Module(Buffer.from(LINE_KERNEL_WASM_BASE64, 'base64'));
  const kernel = new webAssembly.Instance(compiled).exports as unknown as KernelExports;
  const memory = kernel.memory.buffer;
  // Records come from lines of at least 35 bytes: the region must hold those of a full input.
  if (kernel.recordCapacity.value * 35 < kernel.inputCapacity.value)
    throw new Error('line kernel: the record region is smaller than a full input needs');
  // Every start a row can have until the caller sets a band. (The local is not called `exports`:
  // in a CommonJS build that name would shadow the module's, which BAND_HIGH is read from.)
  new Uint32Array(memory)[BAND_HIGH] = 0xffffffff;
  return {
    scan: kernel.scan,
    bytes: Buffer.from(memory),
    words: new DataView(memory),
    int32: new Int32Array(memory),
    uint32: new Uint32Array(memory),
    inputStart: kernel.inputStart.value,
    inputCapacity: kernel.inputCapacity.value,
    recordsIndex: kernel.recordsStart.value / 4,
    addressTable: kernel.addressTable.value,
    histogramIndex: kernel.histogram.value / 4,
    slotCountsIndex: kernel.slotCounts.value / 4,
    dirtyIndex: kernel.dirtySlots.value / 4,
    slotAccounts: kernel.slotAccounts.value,
  };
}
