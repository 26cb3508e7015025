/**
 * A bounds-checking walk over the Arrow IPC flatbuffers (Footer, Message, Schema, Field,
 * RecordBatch...) BEFORE apache-arrow decodes them. apache-arrow's generated readers trust
 * every offset and vector length (out-of-range reads yield 0, a forged vector length makes
 * them loop billions of times), so only buffers that pass this check are handed to it.
 * Field indices follow format/Schema.fbs, Message.fbs and File.fbs.
 */
import { FormatError, view } from './util';

/** Arrow MessageHeader union tags. */
export const HEADER = { Schema: 1, DictionaryBatch: 2, RecordBatch: 3 } as const;
/** Arrow Type union tags that own strings or vectors. */
const TYPE_TIMESTAMP = 10;
const TYPE_UNION = 14;

const MAX_TABLES = 100_000;
const MAX_DEPTH = 64;

interface Table {
  pos: number;
  vt: number;
  vtSize: number;
  size: number;
}

class Verifier {
  private readonly dv: DataView;
  private tables = 0;

  constructor(private readonly b: Uint8Array) {
    this.dv = view(b);
  }

  private fail(what: string): never {
    throw new FormatError(`malformed Arrow metadata: ${what}`);
  }

  private i32(p: number): number {
    if (p < 0 || p + 4 > this.b.length) this.fail(`offset ${p} outside the ${this.b.length}-byte buffer`);
    return this.dv.getInt32(p, true);
  }

  private i16(p: number): number {
    if (p < 0 || p + 2 > this.b.length) this.fail(`offset ${p} outside the ${this.b.length}-byte buffer`);
    return this.dv.getInt16(p, true);
  }

  /** The table at `pos`: its vtable and inline fields must lie inside the buffer. */
  table(pos: number): Table {
    if (++this.tables > MAX_TABLES) this.fail('too many tables');
    const vt = pos - this.i32(pos);
    const vtSize = this.i16(vt);
    const size = this.i16(vt + 2);
    if (vtSize < 4 || vtSize % 2 !== 0 || vt + vtSize > this.b.length) this.fail(`bad vtable at ${vt}`);
    if (size < 4 || pos + size > this.b.length) this.fail(`table at ${pos} overruns the buffer`);
    return { pos, vt, vtSize, size };
  }

  root(): Table {
    return this.table(this.ref(0));
  }

  /** Absolute position of field `index` of a table, or 0 when absent. */
  field(t: Table, index: number, width: number): number {
    const slot = 4 + 2 * index;
    if (slot >= t.vtSize) return 0;
    const off = this.i16(t.vt + slot);
    if (off === 0) return 0;
    if (off < 4 || off + width > t.size) this.fail(`field ${index} of table at ${t.pos} lies outside it`);
    return t.pos + off;
  }

  /** Follows the uoffset at `p` (always forward, inside the buffer). */
  ref(p: number): number {
    const off = this.i32(p);
    if (off <= 0 || p + off >= this.b.length) this.fail(`reference at ${p} points outside the buffer`);
    return p + off;
  }

  /** A vector of `n` elements of `width` bytes: returns its first element's position and n. */
  vector(t: Table, index: number, width: number): { at: number; n: number } | null {
    const p = this.field(t, index, 4);
    if (!p) return null;
    const start = this.ref(p);
    const n = this.i32(start);
    if (n < 0 || start + 4 + n * width > this.b.length) this.fail(`vector at ${start} (${n} x ${width} bytes) overruns the buffer`);
    return { at: start + 4, n };
  }

  string(t: Table, index: number): void {
    this.vector(t, index, 1);
  }

  subtable(t: Table, index: number): Table | null {
    const p = this.field(t, index, 4);
    return p ? this.table(this.ref(p)) : null;
  }

  eachTable(t: Table, index: number, each: (t: Table) => void): void {
    const v = this.vector(t, index, 4);
    if (!v) return;
    for (let i = 0; i < v.n; i++) each(this.table(this.ref(v.at + 4 * i)));
  }

  keyValues(t: Table, index: number): void {
    this.eachTable(t, index, (kv) => {
      this.string(kv, 0);
      this.string(kv, 1);
    });
  }

  u8(t: Table, index: number): number {
    const p = this.field(t, index, 1);
    return p ? this.b[p] : 0;
  }

  schema(s: Table): void {
    this.eachTable(s, 1, (f) => this.field_(f, 0));
    this.keyValues(s, 2);
    this.vector(s, 3, 8); // features
  }

  /** Field: name, nullable, type_type, type, dictionary, children, custom_metadata. */
  private field_(f: Table, depth: number): void {
    if (depth > MAX_DEPTH) this.fail(`fields nested more than ${MAX_DEPTH} deep`);
    this.string(f, 0);
    const typeType = this.u8(f, 2);
    const type = this.subtable(f, 3);
    if (type && typeType === TYPE_TIMESTAMP) this.string(type, 1);
    if (type && typeType === TYPE_UNION) this.vector(type, 1, 4);
    const dict = this.subtable(f, 4);
    if (dict) this.subtable(dict, 1); // indexType: Int
    this.eachTable(f, 5, (c) => this.field_(c, depth + 1));
    this.keyValues(f, 6);
  }

  recordBatch(r: Table): void {
    this.vector(r, 1, 16); // nodes: FieldNode structs
    this.vector(r, 2, 16); // buffers: Buffer structs
    this.subtable(r, 3); // compression
    this.vector(r, 4, 8); // variadicBufferCounts
  }
}

/** Checks a Footer (File.fbs) flatbuffer; throws a FormatError when it is unsafe to decode. */
export function verifyFooter(b: Uint8Array): void {
  const v = new Verifier(b);
  const footer = v.root();
  const schema = v.subtable(footer, 1);
  if (!schema) throw new FormatError('malformed Arrow footer: no schema');
  v.schema(schema);
  v.vector(footer, 2, 24); // dictionaries: Block structs
  v.vector(footer, 3, 24); // recordBatches
  v.keyValues(footer, 4);
}

/** Checks a Message flatbuffer and returns its header type. */
export function verifyMessage(b: Uint8Array): number {
  const v = new Verifier(b);
  const msg = v.root();
  const headerType = v.u8(msg, 1);
  const header = v.subtable(msg, 2);
  v.keyValues(msg, 4);
  if (!header) throw new FormatError('malformed Arrow message: no header');
  if (headerType === HEADER.Schema) v.schema(header);
  else if (headerType === HEADER.RecordBatch) v.recordBatch(header);
  else if (headerType === HEADER.DictionaryBatch) {
    const data = v.subtable(header, 1);
    if (data) v.recordBatch(data);
  } else throw new FormatError(`unsupported Arrow message type ${headerType} (tensors are not shown)`);
  return headerType;
}
