/**
 * Arrow IPC (file and stream; Feather v2 is the file format) as a table. The footer, or one walk
 * over the stream's message headers, gives every record batch's row count and buffer regions; a
 * page of rows then reads, per column, only the byte ranges of those rows: bits of the validity
 * bitmap, `rows x width` bytes of fixed-width values, `rows + 1` offsets and the bytes between the
 * first and last of them for strings, lists likewise down to their children. A pandas file is
 * often one batch of all its rows: decoding whole batches would copy the file. Dictionary columns
 * read their indices, then only the dictionary entries those indices name (cached, bounded).
 * Metadata flatbuffers are verified (formats/flatbuf.ts) before apache-arrow decodes them.
 * A compressed batch (LZ4 frame or ZSTD, pyarrow's default for Feather) has each buffer as its
 * int64 uncompressed length, then the frame (or -1, then the bytes as they are): the buffers a
 * page needs are decompressed once, natively (TableBytes.decompress), into exactly the length
 * they declare, and kept in an LRU within DECOMPRESSED_BUDGET bytes for the next pages (a batch
 * that declares more in all is said to be too big to show).
 */
import { DateUnit, IntervalUnit, MetadataVersion, Precision, TimeUnit, Type, UnionMode } from 'apache-arrow/enum';
import type { DataType, Field, Schema } from 'apache-arrow';
import type { BufferRegion, FieldNode, RecordBatch as BatchHeader } from 'apache-arrow/ipc/metadata/message';
import { arrowIpc, blockMessage, Budget, bufferCount, checkBlocks, compressionName, decodeMessage, FILE_MAGIC, fixedWidth, readMessage } from '../formats/arrow';
import { verifyFooter } from '../formats/flatbuf';
import type { FileBytes } from '../types';
import { describeError, FormatError } from '../formats/util';
import { clipRows, pickColumns, readRange, TableError, type Cell, type CellKind, type TableBytes, type TableColumn, type TableModel, type TablePage } from './types';
import { bigCell, bigLE, dateText, decimalText, f16, floatCell, hex, text, timestampText, timeText, UNIT_DIGITS } from './values';

/** A record batch (or a dictionary batch's data): its header and where its body lies. */
interface Batch {
  header: BatchHeader;
  body: number;
  bodyLength: number;
  /** First row of this batch in the table. */
  start: number;
  /** The dictionaries in force for this batch (stream: those read before it). */
  dictionaries: Map<number, DictPart[]>;
  index: number;
}

/** One dictionary batch (a replacement starts a new list, a delta appends to it). */
interface DictPart {
  batch: Batch;
  /** Index of the first entry of this part in the whole dictionary. */
  first: number;
  length: number;
}

/** A field's node and buffers in one batch, its children's likewise. */
interface Layout {
  field: Field;
  type: DataType;
  node: FieldNode;
  buffers: BufferRegion[];
  children: Layout[];
  batch: Batch;
  path: string;
}

const MAX_BATCHES = 1 << 20;
/** Dictionary entries kept decoded, over all columns. */
const DICT_CACHE = 100_000;
/** Decompressed buffers kept, in bytes, over the whole table; a batch that declares more than this is refused. */
export const DECOMPRESSED_BUDGET = 256 * 1024 * 1024;
const MIB = 1024 * 1024;

/** The codec a batch's buffers are compressed with, null when they are not; a TableError for another. */
function codecOf(batch: Batch): 'lz4' | 'zstd' | null {
  const c = batch.header.compression;
  if (!c) return null;
  // BodyCompressionMethod BUFFER (0) is the only one Arrow defines.
  if (c.method !== 0) throw new TableError(`record batch ${batch.index}: body compression method ${c.method} is not one Arrow defines (BUFFER)`);
  if (c.type === 0) return 'lz4';
  if (c.type === 1) return 'zstd';
  throw new TableError(`record batch ${batch.index} is compressed with ${compressionName(c.type)}: Arrow defines LZ4 frame (0) and ZSTD (1)`);
}

/** A buffer as read: bytes decompressed, or where its bytes lie in the file (not compressed). */
type Plain = Uint8Array | { at: number; length: number };

/** Decompressed buffers by their offset in the file, least recently used first, within DECOMPRESSED_BUDGET. */
class Unpacked {
  private m = new Map<number, { bytes: Promise<Uint8Array>; size: number }>();
  private total = 0;
  /** Bytes held now (for tests and the bench). */
  get bytes(): number {
    return this.total;
  }
  get(at: number, make: () => Promise<Uint8Array>): Promise<Uint8Array> {
    const hit = this.m.get(at);
    if (hit) {
      this.m.delete(at);
      this.m.set(at, hit);
      return hit.bytes;
    }
    const entry = { bytes: make(), size: 0 };
    this.m.set(at, entry);
    entry.bytes.then(
      (b) => {
        if (this.m.get(at) !== entry) return;
        entry.size = b.byteLength;
        this.total += entry.size;
        // The oldest go first; the one just made stays (it is within the budget by itself).
        for (const [k, e] of this.m) {
          if (this.total <= DECOMPRESSED_BUDGET || k === at) break;
          this.m.delete(k);
          this.total -= e.size;
        }
      },
      () => {
        if (this.m.get(at) === entry) this.m.delete(at);
      },
    );
    return entry.bytes;
  }
  clear(): void {
    this.m.clear();
    this.total = 0;
  }
}

function kindOf(type: DataType): CellKind {
  switch (type.typeId) {
    case Type.Int:
      return 'int';
    case Type.Float:
      return 'float';
    case Type.Bool:
      return 'bool';
    case Type.Utf8:
    case Type.LargeUtf8:
      return 'string';
    case Type.Binary:
    case Type.LargeBinary:
    case Type.FixedSizeBinary:
      return 'bytes';
    case Type.Decimal:
      return 'decimal';
    case Type.Date:
      return 'date';
    case Type.Time:
      return 'time';
    case Type.Timestamp:
      return 'timestamp';
    case Type.Duration:
      return 'duration';
    case Type.List:
    case Type.LargeList:
    case Type.FixedSizeList:
    case Type.Map:
      return 'list';
    case Type.Struct:
      return 'struct';
    case Type.Null:
      return 'null';
    case Type.Dictionary:
      return kindOf((type as unknown as { dictionary: DataType }).dictionary);
    default:
      return 'other';
  }
}

type T = Record<string, unknown> & DataType;

/** Buffers a node of this type owns (children not included); a TableError for the types not read. */
function buffersOf(type: DataType, version: MetadataVersion): number {
  const n = bufferCount(type, version);
  if (n === null) throw new TableError(`Arrow type ${String(type)} is not read (string and binary views, run-end encoding)`);
  return n;
}

/** The children a node of this type has in a batch (a dictionary's values are in its own batch). */
function childFields(type: DataType): Field[] {
  return type.typeId === Type.Dictionary ? [] : ((type.children ?? []) as Field[]);
}

/** Lays the fields out over a batch's nodes and buffers, in their depth-first order; checks every region. */
function layOut(fields: readonly Field[], batch: Batch, version: MetadataVersion, prefix = ''): Layout[] {
  const h = batch.header;
  let node = 0;
  let buf = 0;
  const walk = (f: Field, path: string): Layout => {
    const type = f.type as DataType;
    const n = h.nodes[node++];
    if (!n) throw new TableError(`record batch ${batch.index}: no field node for column '${path}' (the header has ${h.nodes.length})`);
    const k = buffersOf(type, version);
    const buffers = h.buffers.slice(buf, buf + k);
    buf += k;
    if (buffers.length < k) throw new TableError(`record batch ${batch.index}: column '${path}' has ${buffers.length} of its ${k} buffers`);
    for (const b of buffers) {
      if (!Number.isSafeInteger(b.offset) || !Number.isSafeInteger(b.length) || b.offset < 0 || b.length < 0 || b.offset + b.length > batch.bodyLength) {
        throw new TableError(`record batch ${batch.index}: a buffer of column '${path}' (${b.offset}+${b.length}) lies outside the ${batch.bodyLength}-byte body`);
      }
    }
    // A Null column's null count is its length; apache-arrow writes -1 (unknown) for a sliced one.
    if (type.typeId === Type.Null && Number.isSafeInteger(n.length) && n.length >= 0) {
      /* no buffers, nothing else to check */
    } else if (!Number.isSafeInteger(n.length) || n.length < 0 || !Number.isSafeInteger(n.nullCount) || n.nullCount < 0 || n.nullCount > n.length) {
      throw new TableError(`record batch ${batch.index}: column '${path}' has a field node of ${n.length} rows, ${n.nullCount} nulls`);
    }
    const children = childFields(type).map((c) => walk(c, `${path}.${c.name}`));
    return { field: f, type, node: n, buffers, children, batch, path };
  };
  return fields.map((f) => walk(f, prefix + f.name));
}

function bit(bits: Uint8Array, i: number): boolean {
  return (bits[i >> 3] & (1 << (i & 7))) !== 0;
}

/** Small LRU of decoded dictionary entries. */
class DictCache {
  private m = new Map<string, Cell>();
  get(k: string): Cell | undefined {
    const v = this.m.get(k);
    if (v !== undefined) {
      this.m.delete(k);
      this.m.set(k, v);
    }
    return v;
  }
  set(k: string, v: Cell): void {
    this.m.set(k, v);
    if (this.m.size > DICT_CACHE) this.m.delete(this.m.keys().next().value as string);
  }
}

export class ArrowTable implements TableModel {
  readonly source = 'arrow' as const;
  columns: TableColumn[] = [];
  totalRows = 0;
  notes: string[] = [];
  private schema!: Schema;
  private version: MetadataVersion = MetadataVersion.V5;
  private batches: Batch[] = [];
  private kind: 'file' | 'stream' = 'stream';
  /** Stream: where the next message starts, and the dictionaries read so far. */
  private next = 0;
  private ended = false;
  private dicts = new Map<number, DictPart[]>();
  private dictTypes = new Map<number, DataType>();
  private cache = new DictCache();
  private layouts = new Map<Batch, Layout[]>();
  private unpacked = new Unpacked();
  private declared = new Map<Batch, Promise<Map<number, bigint>>>();

  private constructor(private src: TableBytes) {}

  static async open(src: TableBytes): Promise<ArrowTable> {
    const t = new ArrowTable(src);
    try {
      await t.load();
    } catch (e) {
      throw e instanceof TableError ? e : new TableError(e instanceof FormatError ? e.message : `Arrow: ${describeError(e)}`);
    }
    return t;
  }

  private fileBytes(): FileBytes {
    return { size: this.src.size, head: new Uint8Array(0) };
  }

  private readAt = (offset: number, length: number) => this.src.read(offset, length);

  private async load(): Promise<void> {
    const size = this.src.size;
    const head = await readRange(this.src, 0, Math.min(size, 8), 'Arrow magic');
    const isFile = head.length >= 6 && String.fromCharCode(...head.subarray(0, 6)) === FILE_MAGIC;
    if (isFile && size >= 18) {
      const end = await readRange(this.src, size - 10, 10, 'Arrow footer length');
      if (String.fromCharCode(...end.subarray(4, 10)) === FILE_MAGIC) {
        this.kind = 'file';
        await this.loadFile(new DataView(end.buffer, end.byteOffset, 10).getInt32(0, true));
        return;
      }
    }
    this.next = isFile ? 8 : 0;
    if (isFile) this.notes.push('no footer: read as a stream (a file still being written, or cut short)');
    await this.walkStream();
    if (!this.schema) throw new TableError('Arrow stream: no schema message');
  }

  private setSchema(schema: Schema, version: MetadataVersion): void {
    this.schema = schema;
    this.version = version;
    const collect = (f: Field) => {
      const type = f.type as DataType & { id?: number; dictionary?: DataType };
      if (type.typeId === Type.Dictionary) this.dictTypes.set(type.id!, type.dictionary!);
      for (const c of (f.type.children ?? []) as Field[]) collect(c);
    };
    schema.fields.forEach(collect);
    this.columns = schema.fields.map((f) => ({ name: f.name, type: String(f.type), kind: kindOf(f.type) }));
  }

  private async loadFile(footerLength: number): Promise<void> {
    const footerAt = this.src.size - 10 - footerLength;
    if (footerLength <= 0 || footerAt < 8) throw new TableError(`Arrow footer length ${footerLength} does not fit the ${this.src.size}-byte file`);
    const bytes = await readRange(this.src, footerAt, footerLength, 'Arrow footer');
    verifyFooter(bytes);
    const footer = arrowIpc().Footer.decode(bytes);
    if (footer.version < MetadataVersion.V4) throw new TableError(`Arrow metadata version V${footer.version + 1} is too old`);
    checkBlocks(footer, footerAt);
    if (footer.numRecordBatches > MAX_BATCHES) throw new TableError(`Arrow footer lists ${footer.numRecordBatches} record batches, more than ${MAX_BATCHES}`);
    this.setSchema(footer.schema, footer.version);
    const budget = new Budget(Number.MAX_SAFE_INTEGER);
    const header = async (offset: number, metaDataLength: number, what: string) => {
      const meta = (await blockMessage(this.fileBytes(), this.readAt, offset, metaDataLength, what, budget))!;
      return decodeMessage(meta);
    };
    // Dictionaries: every one applies to every batch (the file format has deltas, no replacements).
    for (let i = 0; i < footer.numDictionaries; i++) {
      const b = footer.getDictionaryBatch(i)!;
      const m = await header(b.offset, b.metaDataLength, `Arrow dictionary batch ${i}`);
      if (!m.isDictionaryBatch()) throw new TableError(`Arrow footer: dictionary block ${i} is not a dictionary batch`);
      this.addDictionary(m.header(), b.offset + b.metaDataLength, Number(b.bodyLength), i);
    }
    const n = footer.numRecordBatches;
    const heads = new Array<BatchHeader>(n);
    // Headers in parallel, a few at a time: one small read each.
    for (let at = 0; at < n; at += 64) {
      await Promise.all(
        Array.from({ length: Math.min(64, n - at) }, async (_, k) => {
          const i = at + k;
          const b = footer.getRecordBatch(i)!;
          const m = await header(b.offset, b.metaDataLength, `Arrow record batch ${i} header`);
          if (!m.isRecordBatch()) throw new TableError(`Arrow footer: block ${i} is not a record batch`);
          heads[i] = m.header();
        }),
      );
    }
    for (let i = 0; i < n; i++) {
      const b = footer.getRecordBatch(i)!;
      this.addBatch(heads[i], b.offset + b.metaDataLength, Number(b.bodyLength));
    }
  }

  private addDictionary(d: { id: number; isDelta: boolean; data: BatchHeader }, body: number, bodyLength: number, index: number): void {
    if (!this.dictTypes.has(d.id)) {
      // Nothing reads it; a column whose id has no dictionary says so when read.
      if (this.notes.length < 16) this.notes.push(`dictionary batch ${index} has id ${d.id}, which no column of the schema uses: ignored`);
      return;
    }
    const batch: Batch = { header: d.data, body, bodyLength, start: 0, dictionaries: new Map(), index };
    const length = d.data.length;
    if (!Number.isSafeInteger(length) || length < 0) throw new TableError(`Arrow dictionary batch ${index}: ${length} entries`);
    if (!d.isDelta && this.kind === 'file' && this.dicts.has(d.id)) {
      throw new TableError(`Arrow file: dictionary batch ${index} replaces dictionary ${d.id}, which the file format does not allow (only deltas)`);
    }
    const parts = d.isDelta ? [...(this.dicts.get(d.id) ?? [])] : [];
    const first = parts.length ? parts[parts.length - 1].first + parts[parts.length - 1].length : 0;
    parts.push({ batch, first, length });
    this.dicts.set(d.id, parts); // a new array: batches read earlier keep theirs
  }

  private addBatch(header: BatchHeader, body: number, bodyLength: number): void {
    const rows = header.length;
    if (!Number.isSafeInteger(rows) || rows < 0) throw new TableError(`Arrow record batch ${this.batches.length}: ${rows} rows`);
    if (header.compression && !this.notes.some((n) => n.startsWith('record batches compressed'))) {
      this.notes.push(
        `record batches compressed (${compressionName(header.compression.type)}): each is decompressed when its rows are first read, at most ${DECOMPRESSED_BUDGET / MIB} MiB kept`,
      );
    }
    this.batches.push({ header, body, bodyLength, start: this.totalRows, dictionaries: new Map(this.dicts), index: this.batches.length });
    this.totalRows += rows;
  }

  /** Reads the messages from `next` on, up to the end marker or the end of what is written. */
  private async walkStream(): Promise<void> {
    const file = this.fileBytes();
    while (!this.ended && this.batches.length < MAX_BATCHES) {
      if (this.next + 4 > this.src.size) break; // still being written
      let m: Awaited<ReturnType<typeof readMessage>>;
      try {
        m = await readMessage(file, this.readAt, this.next, 'Arrow message', null);
      } catch (e) {
        if (!this.schema) throw e;
        // A message being written (its body not all there yet): stop before it; refresh reads it later.
        this.notes.push(`stopped at byte ${this.next}: ${describeError(e)}`);
        break;
      }
      if (m === null) {
        this.ended = true;
        break;
      }
      if (m === 'over budget') break;
      const { message } = m;
      if (message.isSchema()) {
        if (this.schema) throw new TableError('Arrow stream holds a second schema');
        this.setSchema(message.header(), message.version);
      } else if (!this.schema) {
        throw new TableError('Arrow stream does not start with a schema');
      } else if (message.isRecordBatch()) {
        this.addBatch(message.header(), m.body, m.bodyLength);
      } else if (message.isDictionaryBatch()) {
        this.addDictionary(message.header(), m.body, m.bodyLength, this.dicts.size);
      }
      this.next = m.body + m.bodyLength;
    }
  }

  /** A stream whose end marker has not come yet: its producer may append batches. */
  get appendable(): boolean {
    return this.kind === 'stream' && !this.ended;
  }

  async refresh(grown?: TableBytes): Promise<number> {
    if (this.kind === 'stream') {
      // The view's size is the file's as mapped: the caller maps the grown file again. What was read
      // stays where it was (a stream is only appended to), so the batches known keep their offsets.
      if (grown && grown.size >= this.src.size) this.src = grown;
      this.notes = this.notes.filter((n) => !n.startsWith('stopped at byte'));
      await this.walkStream();
    }
    return this.totalRows;
  }

  /**
   * Where a top-level fixed-width numeric column's values lie, batch by batch (for native
   * statistics): the absolute offset of its first value, its rows and nulls, its first row.
   * Throws a TableError for a column of another type; a compressed batch's run is marked `compressed` (no offset).
   */
  valueRuns(col: number): { offset: number; rows: number; nullCount: number; start: number; compressed: boolean; batch: number }[] {
    const type = this.schema.fields[col]?.type as DataType | undefined;
    if (!type || (type.typeId !== Type.Int && type.typeId !== Type.Float))
      throw new TableError(`column '${this.columns[col]?.name}' is ${String(type)}, not a number`);
    const w = fixedWidth(type)!;
    return this.batches.map((batch) => {
      const L = this.layoutOf(batch)[col];
      const values = L.buffers[1];
      // Not in the file as values: read through rows(), which decompresses.
      if (codecOf(batch)) return { offset: -1, rows: L.node.length, nullCount: L.node.nullCount, start: batch.start, compressed: true, batch: batch.index };
      if (values.length < L.node.length * w)
        throw new TableError(
          `record batch ${batch.index}: the values buffer of '${L.path}' holds ${values.length} bytes, its ${L.node.length} rows need ${L.node.length * w}`,
        );
      return { offset: batch.body + values.offset, rows: L.node.length, nullCount: L.node.nullCount, start: batch.start, compressed: false, batch: batch.index };
    });
  }

  /**
   * The values of a top-level integer or float column in record batch `index`, as a typed array
   * over its values buffer (a compressed batch's decompressed, through the cache): for statistics
   * without a cell per value. Null for a type with no typed array (float16); nulls are not applied.
   */
  async batchValues(col: number, index: number): Promise<ArrayLike<number | bigint> | null> {
    const batch = this.batches[index];
    const L = this.layoutOf(batch)[col];
    const t = L.type as T;
    const w = fixedWidth(L.type);
    if (w === null || (L.type.typeId !== Type.Int && L.type.typeId !== Type.Float) || (L.type.typeId === Type.Float && t.precision === Precision.HALF)) return null;
    const n = L.node.length;
    const raw = await this.buffer(L, 1, 0, n * w, 'values');
    const b = raw.byteOffset % w === 0 ? raw : raw.slice();
    const [buf, at] = [b.buffer, b.byteOffset];
    if (L.type.typeId === Type.Float) return w === 8 ? new Float64Array(buf, at, n) : new Float32Array(buf, at, n);
    const signed = t.isSigned as boolean;
    switch (w) {
      case 1:
        return signed ? new Int8Array(buf, at, n) : b.subarray(0, n);
      case 2:
        return signed ? new Int16Array(buf, at, n) : new Uint16Array(buf, at, n);
      case 4:
        return signed ? new Int32Array(buf, at, n) : new Uint32Array(buf, at, n);
      default:
        return signed ? new BigInt64Array(buf, at, n) : new BigUint64Array(buf, at, n);
    }
  }

  /** The batch holding row r (binary search over the batches' first rows). */
  private batchOf(r: number): number {
    let lo = 0;
    let hi = this.batches.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.batches[mid].start <= r) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private layoutOf(batch: Batch): Layout[] {
    let l = this.layouts.get(batch);
    if (!l) {
      codecOf(batch); // an unknown codec is refused before any buffer is read
      l = layOut(this.schema.fields, batch, this.version);
      for (const c of l) {
        if (c.node.length !== batch.header.length)
          throw new TableError(`record batch ${batch.index}: column '${c.path}' has ${c.node.length} rows, the batch ${batch.header.length}`);
      }
      if (this.layouts.size > 256) this.layouts.clear();
      this.layouts.set(batch, l);
    }
    return l;
  }

  async rows(offset: number, count: number, columns?: readonly number[]): Promise<TablePage> {
    const [start, end] = clipRows(this.totalRows, offset, count);
    const cols = pickColumns(this.columns.length, columns);
    const out: Cell[][] = Array.from({ length: end - start }, () => new Array<Cell>(cols.length).fill(null));
    const errors: (string | null)[] = cols.map(() => null);
    const spans: { batch: Batch; a: number; b: number }[] = [];
    for (let r = start; r < end;) {
      const batch = this.batches[this.batchOf(r)];
      const b = Math.min(end, batch.start + batch.header.length);
      if (b > r) spans.push({ batch, a: r - batch.start, b: b - batch.start });
      r = Math.max(b, r + 1);
    }
    await Promise.all(
      spans.flatMap(({ batch, a, b }) => {
        let layouts: Layout[];
        try {
          layouts = this.layoutOf(batch);
        } catch (e) {
          cols.forEach((_, j) => (errors[j] ??= describeError(e)));
          return [];
        }
        return cols.map(async (c, j) => {
          try {
            const cells = await this.read(layouts[c], a, b);
            const base = batch.start + a - start;
            for (let i = 0; i < cells.length; i++) out[base + i][j] = cells[i];
          } catch (e) {
            if (!(e instanceof TableError || e instanceof FormatError)) throw e;
            errors[j] ??= `column '${this.columns[c].name}', record batch ${batch.index}: ${e.message}`;
          }
        });
      }),
    );
    return { offset: start, columns: cols, rows: out, errors };
  }

  /** Bytes [from, from + length) of buffer k of a node, checked against the buffer's declared length. */
  private async buffer(L: Layout, k: number, from: number, length: number, what: string): Promise<Uint8Array> {
    const plain = await this.plain(L, k, what);
    const size = plain instanceof Uint8Array ? plain.byteLength : plain.length;
    if (from + length > size) {
      throw new TableError(`its ${what} buffer holds ${size} bytes; rows need bytes ${from}..${from + length}`);
    }
    if (plain instanceof Uint8Array) return plain.subarray(from, from + length);
    return readRange(this.src, plain.at + from, length, `column '${L.path}' ${what}`);
  }

  /**
   * Buffer k of a node as its reader sees it: where it lies in the file, or (a compressed batch)
   * its bytes decompressed, from the cache or once natively, bounded by the length it declares.
   */
  private async plain(L: Layout, k: number, what: string): Promise<Plain> {
    const region = L.buffers[k];
    const at = L.batch.body + region.offset;
    const codec = codecOf(L.batch);
    if (!codec || region.length === 0) return { at, length: region.length };
    if (region.length < 8) throw new TableError(`its ${what} buffer is ${region.length} bytes: a compressed buffer starts with its 8-byte length`);
    const declared = (await this.declaredOf(L.batch)).get(at)!;
    // -1: the writer left this buffer as it was (compressing did not make it smaller).
    if (declared === -1n) return { at: at + 8, length: region.length - 8 };
    if (declared < 0n) throw new TableError(`its ${what} buffer declares ${declared} bytes uncompressed`, 'LENGTH_MISMATCH');
    const unpack = this.src.decompress?.bind(this.src);
    if (!unpack) throw new TableError(`record batch ${L.batch.index} is compressed (${codec}): reading it needs the native addon`);
    return this.unpacked.get(at, async () => {
      try {
        return await unpack(codec, at + 8, region.length - 8, Number(declared));
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        if (code === 'DECOMPRESS' || code === 'LENGTH_MISMATCH') throw new TableError(`its ${what} buffer: ${describeError(e)}`, code);
        throw e;
      }
    });
  }

  /**
   * The uncompressed length each buffer of a compressed batch declares (its int64 prefix), by the
   * buffer's offset in the file: read once per batch, all at once. A batch that declares more than
   * DECOMPRESSED_BUDGET in all is refused (OVER_BUDGET): it could not stay decompressed while shown.
   */
  private declaredOf(batch: Batch): Promise<Map<number, bigint>> {
    let p = this.declared.get(batch);
    if (!p) {
      p = (async () => {
        const regions = batch.header.buffers.filter((r) => r.length >= 8);
        const heads = await Promise.all(regions.map((r) => readRange(this.src, batch.body + r.offset, 8, `record batch ${batch.index} buffer length`)));
        const out = new Map<number, bigint>();
        let total = 0n;
        regions.forEach((r, i) => {
          const v = new DataView(heads[i].buffer, heads[i].byteOffset, 8).getBigInt64(0, true);
          out.set(batch.body + r.offset, v);
          if (v > 0n) total += v;
        });
        if (total > BigInt(DECOMPRESSED_BUDGET)) {
          throw new TableError(
            `record batch ${batch.index} decompresses to ${(Number(total) / MIB).toFixed(1)} MiB, more than the ${DECOMPRESSED_BUDGET / MIB} MiB ` +
              `kept decompressed: too big to show (a file written in smaller batches can be: pyarrow's write_feather(..., chunksize=N))`,
            'OVER_BUDGET',
          );
        }
        return out;
      })();
      if (this.declared.size >= 4096) this.declared.clear();
      this.declared.set(batch, p);
    }
    return p;
  }

  /** Bytes of decompressed buffers held for the next pages (at most DECOMPRESSED_BUDGET, plus one being read). */
  get decompressedBytes(): number {
    return this.unpacked.bytes;
  }

  /** Validity of rows [a, b): null when every row is valid. */
  private async validity(L: Layout, a: number, b: number): Promise<((i: number) => boolean) | null> {
    if (L.node.nullCount === 0 || L.buffers.length === 0 || L.buffers[0].length === 0 || b <= a) return null;
    const first = a >> 3;
    const bits = await this.buffer(L, 0, first, ((b - 1) >> 3) - first + 1, 'validity');
    return (i: number) => bit(bits, i - first * 8);
  }

  /** Offsets a..b (inclusive) of a variable-size node, checked to rise. */
  private async offsets(L: Layout, a: number, b: number, wide: boolean): Promise<number[]> {
    const w = wide ? 8 : 4;
    const raw = await this.buffer(L, 1, a * w, (b - a + 1) * w, 'offsets');
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const out = new Array<number>(b - a + 1);
    for (let i = 0; i <= b - a; i++) {
      const v = wide ? Number(dv.getBigInt64(i * w, true)) : dv.getInt32(i * w, true);
      if (!Number.isSafeInteger(v) || v < 0 || (i > 0 && v < out[i - 1])) throw new TableError(`offset ${a + i} is ${v}: offsets must rise from 0`);
      out[i] = v;
    }
    return out;
  }

  /** Cells of rows [a, b) of a node. */
  private async read(L: Layout, a: number, b: number): Promise<Cell[]> {
    if (b > L.node.length) throw new TableError(`rows ${a}..${b} asked of a node of ${L.node.length}`);
    const n = b - a;
    const type = L.type as T;
    const valid = await this.validity(L, a, b);
    const cells = new Array<Cell>(n);
    const fill = (each: (i: number) => Cell) => {
      for (let i = 0; i < n; i++) cells[i] = valid && !valid(a + i) ? null : each(i);
    };
    switch (L.type.typeId) {
      case Type.Null:
        return cells.fill(null);
      case Type.Bool: {
        const first = a >> 3;
        const bits = n ? await this.buffer(L, 1, first, ((b - 1) >> 3) - first + 1, 'values') : new Uint8Array(0);
        fill((i) => bit(bits, a + i - first * 8));
        return cells;
      }
      case Type.Utf8:
      case Type.Binary:
      case Type.LargeUtf8:
      case Type.LargeBinary: {
        const wide = L.type.typeId === Type.LargeUtf8 || L.type.typeId === Type.LargeBinary;
        const off = await this.offsets(L, a, b, wide);
        const data = await this.buffer(L, 2, off[0], off[n] - off[0], 'data');
        const str = L.type.typeId === Type.Utf8 || L.type.typeId === Type.LargeUtf8;
        fill((i) => {
          const v = data.subarray(off[i] - off[0], off[i + 1] - off[0]);
          return str ? text(v) : hex(v);
        });
        return cells;
      }
      case Type.List:
      case Type.LargeList:
      case Type.Map: {
        const off = await this.offsets(L, a, b, L.type.typeId === Type.LargeList);
        const child = L.children[0];
        const items = await this.read(child, off[0], off[n]);
        const map = L.type.typeId === Type.Map;
        fill((i) => {
          const part = items.slice(off[i] - off[0], off[i + 1] - off[0]);
          return map ? part.map((e) => Object.values(e as Record<string, Cell>)) : part;
        });
        return cells;
      }
      case Type.FixedSizeList: {
        const size = type.listSize as number;
        const items = await this.read(L.children[0], a * size, b * size);
        fill((i) => items.slice(i * size, (i + 1) * size));
        return cells;
      }
      case Type.Struct: {
        const parts = await Promise.all(L.children.map((c) => this.read(c, a, b)));
        fill((i) => Object.fromEntries(L.children.map((c, k) => [c.field.name, parts[k][i]])));
        return cells;
      }
      case Type.Union:
        return this.readUnion(L, a, b, valid);
      case Type.Dictionary:
        return this.readDictionary(L, a, b, valid);
    }
    const w = fixedWidth(L.type);
    if (w === null) throw new TableError(`Arrow type ${String(L.type)} is not read`);
    const raw = await this.buffer(L, 1, a * w, n * w, 'values');
    const conv = cellOf(L.type);
    fill((i) => conv(raw, i * w));
    return cells;
  }

  private async readUnion(L: Layout, a: number, b: number, valid: ((i: number) => boolean) | null): Promise<Cell[]> {
    const t = L.type as T;
    const k0 = this.version < MetadataVersion.V5 ? 1 : 0;
    const n = b - a;
    const ids = await this.buffer(L, k0, a, n, 'type ids');
    const typeIds = (t.typeIds as number[]) ?? [];
    const childOf = (id: number) => {
      const k = typeIds.indexOf(id);
      if (k < 0 || !L.children[k]) throw new TableError(`union type id ${id} names no child`);
      return L.children[k];
    };
    const cells = new Array<Cell>(n).fill(null);
    if (t.mode === UnionMode.Dense) {
      const raw = await this.buffer(L, k0 + 1, a * 4, n * 4, 'offsets');
      const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      await Promise.all(
        Array.from({ length: n }, async (_, i) => {
          if (valid && !valid(a + i)) return;
          const o = dv.getInt32(i * 4, true);
          cells[i] = (await this.read(childOf(ids[i]), o, o + 1))[0];
        }),
      );
    } else {
      const used = [...new Set(ids)];
      const parts = new Map<number, Cell[]>();
      await Promise.all(used.map(async (id) => parts.set(id, await this.read(childOf(id), a, b))));
      for (let i = 0; i < n; i++) if (!valid || valid(a + i)) cells[i] = parts.get(ids[i])![i];
    }
    return cells;
  }

  private async readDictionary(L: Layout, a: number, b: number, valid: ((i: number) => boolean) | null): Promise<Cell[]> {
    const t = L.type as T & { id: number; indices: DataType; dictionary: DataType };
    const n = b - a;
    const w = ((t.indices as T).bitWidth as number) / 8;
    const raw = await this.buffer(L, 1, a * w, n * w, 'indices');
    const conv = cellOf(t.indices);
    const idx = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      if (valid && !valid(a + i)) idx[i] = -1;
      else {
        const v = conv(raw, i * w);
        const k = typeof v === 'number' ? v : Number(v);
        if (!Number.isSafeInteger(k) || k < 0) throw new TableError(`dictionary index ${String(v)} at row ${a + i} is negative or absurd`);
        idx[i] = k;
      }
    }
    const parts = L.batch.dictionaries.get(t.id) ?? (this.kind === 'file' ? this.dicts.get(t.id) : undefined);
    if (!parts) throw new TableError(`dictionary id ${t.id} has no dictionary batch${this.kind === 'stream' ? ' before this record batch' : ''}`);
    const total = parts.length ? parts[parts.length - 1].first + parts[parts.length - 1].length : 0;
    const values = new Map<number, Cell>();
    const key = (k: number) => `${t.id}:${parts[0]?.batch.body}:${k}`;
    const missing: number[] = [];
    for (const k of new Set(idx)) {
      if (k < 0) continue;
      if (k >= total) throw new TableError(`dictionary index ${k} is past the ${total} entries of dictionary ${t.id}`);
      const hit = this.cache.get(key(k));
      if (hit !== undefined) values.set(k, hit);
      else missing.push(k);
    }
    missing.sort((x, y) => x - y);
    // Per dictionary part: the span of the entries wanted when it is short, else one entry at a time.
    for (const part of parts) {
      const mine = missing.filter((k) => k >= part.first && k < part.first + part.length);
      if (!mine.length) continue;
      const [dl] = layOut([fieldOf(t.dictionary)], part.batch, this.version);
      const lo = mine[0] - part.first;
      const hi = mine[mine.length - 1] - part.first + 1;
      if (hi - lo <= Math.max(1024, 8 * mine.length)) {
        const got = await this.read(dl, lo, hi);
        for (const k of mine) values.set(k, got[k - part.first - lo]);
      } else {
        await Promise.all(mine.map(async (k) => values.set(k, (await this.read(dl, k - part.first, k - part.first + 1))[0])));
      }
      for (const k of mine) this.cache.set(key(k), values.get(k)!);
    }
    return idx.map((k) => (k < 0 ? null : values.get(k)!));
  }
}

/** A one-field stand-in for a dictionary's value type (the dictionary batch has one column). */
function fieldOf(type: DataType): Field {
  return { name: 'dictionary', type, nullable: true, metadata: new Map() } as unknown as Field;
}

/** A converter from the bytes of one fixed-width value to its cell. */
function cellOf(type: DataType): (raw: Uint8Array, at: number) => Cell {
  const t = type as T;
  const dv = (raw: Uint8Array) => new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  switch (type.typeId) {
    case Type.Int: {
      const w = (t.bitWidth as number) / 8;
      const signed = t.isSigned as boolean;
      if (w === 8) return (raw, at) => bigCell(signed ? dv(raw).getBigInt64(at, true) : dv(raw).getBigUint64(at, true));
      if (w === 4) return signed ? (raw, at) => dv(raw).getInt32(at, true) : (raw, at) => dv(raw).getUint32(at, true);
      if (w === 2) return signed ? (raw, at) => dv(raw).getInt16(at, true) : (raw, at) => dv(raw).getUint16(at, true);
      return signed ? (raw, at) => dv(raw).getInt8(at) : (raw, at) => raw[at];
    }
    case Type.Float:
      if (t.precision === Precision.HALF) return (raw, at) => floatCell(f16(dv(raw).getUint16(at, true)));
      if (t.precision === Precision.SINGLE) return (raw, at) => floatCell(dv(raw).getFloat32(at, true));
      return (raw, at) => floatCell(dv(raw).getFloat64(at, true));
    case Type.Decimal: {
      const w = (t.bitWidth as number) / 8;
      const scale = t.scale as number;
      return (raw, at) => decimalText(bigLE(raw, at, w), scale);
    }
    case Type.Date:
      if (t.unit === DateUnit.DAY) return (raw, at) => dateText(dv(raw).getInt32(at, true));
      return (raw, at) => {
        const ms = dv(raw).getBigInt64(at, true);
        return ms % 86_400_000n === 0n ? dateText(Number(ms / 86_400_000n)) : timestampText(ms, 3, null);
      };
    case Type.Time: {
      const digits = UNIT_DIGITS[t.unit as TimeUnit];
      if (t.bitWidth === 32) return (raw, at) => timeText(BigInt(dv(raw).getInt32(at, true)), digits);
      return (raw, at) => timeText(dv(raw).getBigInt64(at, true), digits);
    }
    case Type.Timestamp: {
      const digits = UNIT_DIGITS[t.unit as TimeUnit];
      const zone = (t.timezone as string | null) || null;
      return (raw, at) => timestampText(dv(raw).getBigInt64(at, true), digits, zone);
    }
    case Type.Duration:
      return (raw, at) => bigCell(dv(raw).getBigInt64(at, true));
    case Type.Interval:
      if (t.unit === IntervalUnit.YEAR_MONTH) return (raw, at) => ({ months: dv(raw).getInt32(at, true) });
      if (t.unit === IntervalUnit.DAY_TIME) return (raw, at) => ({ days: dv(raw).getInt32(at, true), milliseconds: dv(raw).getInt32(at + 4, true) });
      return (raw, at) => ({ months: dv(raw).getInt32(at, true), days: dv(raw).getInt32(at + 4, true), nanoseconds: bigCell(dv(raw).getBigInt64(at + 8, true)) });
    case Type.FixedSizeBinary: {
      const w = t.byteWidth as number;
      return (raw, at) => hex(raw.subarray(at, at + w));
    }
  }
  throw new TableError(`Arrow type ${String(type)} is not read`);
}
