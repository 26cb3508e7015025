/**
 * Arrow IPC: the file format (`ARROW1\0\0`, messages, footer, int32 footer length, `ARROW1`;
 * Feather v2 is this) and the stream format (messages prefixed by 0xFFFFFFFF + int32 length,
 * or by the int32 length alone before Arrow 0.15). Only metadata is read: the footer, the
 * schema and the small record-batch headers, never the data pages. Each flatbuffer is
 * bounds-checked (flatbuf.ts) before apache-arrow decodes it.
 */
import { DateUnit, IntervalUnit, MetadataVersion, Precision, Type, UnionMode } from 'apache-arrow/enum';
import type { Message, RecordBatch as BatchHeader } from 'apache-arrow/ipc/metadata/message';
import type { DataType, Field, Schema } from 'apache-arrow';
import type { Decoded, DecodedChild, FileBytes, ReadAt } from '../types';
import { HEADER, verifyFooter, verifyMessage } from './flatbuf';
import { bytesAt, describeError, failed, FormatError, keptMetadata, keptParts, MiB, readExact, startsWith, view } from './util';

/** The metadata readers, loaded on the first Arrow file (see arrow-meta.ts). */
let meta: typeof import('./arrow-meta') | undefined;
export function arrowIpc(): typeof import('./arrow-meta') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (meta ??= require('./arrow-meta.js') as typeof import('./arrow-meta'));
}

export const FILE_MAGIC = 'ARROW1';
const MAX_METADATA = 16 * MiB;
/** Message headers read to count rows (one small read each); beyond this the count is left unknown. */
const MAX_MESSAGES = 2_000;

/** The prefix of an IPC message at `at`: metadata length and where the flatbuffer starts. */
function messagePrefix(b: Uint8Array, at = 0): { len: number; start: number } | null {
  if (b.length < at + 4) return null;
  const dv = view(b);
  if (dv.getUint32(at, true) === 0xffffffff) {
    if (b.length < at + 8) return null;
    return { len: dv.getInt32(at + 4, true), start: at + 8 };
  }
  return { len: dv.getInt32(at, true), start: at + 4 }; // before Arrow 0.15: no continuation marker
}

/** True when `b` at `start` holds a complete, well-formed Schema message. */
function schemaMessageAt(b: Uint8Array, start: number, len: number): boolean {
  if (len <= 0 || start + len > b.length) return false;
  try {
    return verifyMessage(b.subarray(start, start + len)) === HEADER.Schema;
  } catch {
    return false;
  }
}

export function isArrow(file: FileBytes): boolean {
  const h = file.head;
  if (startsWith(h, FILE_MAGIC) && h.length >= 8) return true;
  const p = messagePrefix(h);
  if (!p || p.len <= 0 || p.start + p.len > file.size) return false;
  if (p.start + p.len <= h.length) return schemaMessageAt(h, p.start, p.len);
  // A schema larger than the head: only the continuation marker and a sane root offset.
  if (p.start !== 8 || h.length < 12) return false;
  const root = view(h).getUint32(8, true);
  return root >= 4 && root < p.len;
}

/** Verifies and decodes one message flatbuffer. */
export function decodeMessage(meta: Uint8Array): Message {
  verifyMessage(meta);
  const m = arrowIpc().Message.decode(meta);
  if (m.version < MetadataVersion.V4) throw new FormatError(`Arrow metadata version V${m.version + 1} is too old`);
  return m;
}

interface Batch {
  header: BatchHeader;
  /** Offset of the message body in the file. */
  body: number;
  bodyLength: number;
}

interface Scan {
  /** Null only for a file cut before its footer. */
  schema: Schema | null;
  version: MetadataVersion;
  /** Null when a stream has more messages than MAX_MESSAGES. */
  batches: number | null;
  dictionaryBatches: number | null;
  rows: number | null;
  first: Batch | null;
  error: string | null;
}

/** Metadata bytes a decoder may read past the footer or schema: beyond it, counts are left unknown. */
export class Budget {
  constructor(private left: number) {}
  take(n: number): boolean {
    this.left -= n;
    return this.left >= 0;
  }
}

/** Reads the metadata of the message at `pos` (prefix, flatbuffer), not its body. */
export async function readMessage(file: FileBytes, read: ReadAt, pos: number, what: string, budget: Budget | null) {
  const chunk = await readExact(file, read, pos, Math.min(file.size - pos, 1024), what);
  const p = messagePrefix(chunk);
  if (!p) throw new FormatError(`truncated: ${what} at ${pos}`);
  if (p.len === 0) return null; // end-of-stream marker
  if (p.len < 0 || p.len > MAX_METADATA) throw new FormatError(`${what} at ${pos}: metadata length ${p.len} is absurd`);
  if (budget && !budget.take(p.len)) return 'over budget' as const;
  const start = pos + p.start;
  const meta = p.start + p.len <= chunk.length ? chunk.subarray(p.start, p.start + p.len) : await readExact(file, read, start, p.len, what, MAX_METADATA);
  const message = decodeMessage(meta);
  const body = start + p.len;
  const bodyLength = message.bodyLength;
  if (!Number.isSafeInteger(bodyLength) || bodyLength < 0 || body + bodyLength > file.size) {
    throw new FormatError(`truncated: ${what} at ${pos} has a ${bodyLength}-byte body, the file ends at ${file.size}`);
  }
  return { message, body, bodyLength };
}

/**
 * Walks the messages of a stream (at 0), or of a file without its footer (at 8; apache-arrow's
 * file writer leaves the schema out there, it is only in the footer).
 */
async function scanStream(file: FileBytes, read: ReadAt, start: number): Promise<Scan> {
  const scan: Scan = { schema: null, version: MetadataVersion.V5, batches: 0, dictionaryBatches: 0, rows: 0, first: null, error: null };
  let pos = start;
  const budget = new Budget(MAX_METADATA);
  for (let n = 0; ; n++) {
    if (pos + 4 > file.size) break; // a stream still being written has no end marker yet
    if (n > MAX_MESSAGES) {
      scan.rows = scan.batches = scan.dictionaryBatches = null;
      break;
    }
    let m: Awaited<ReturnType<typeof readMessage>>;
    try {
      m = await readMessage(file, read, pos, n === 0 ? 'Arrow schema message' : 'Arrow message', n === 0 ? null : budget);
    } catch (e) {
      if (n === 0) throw e;
      scan.error = describeError(e);
      break;
    }
    if (!m) break;
    if (m === 'over budget') {
      scan.rows = scan.batches = scan.dictionaryBatches = null;
      break;
    }
    const { message } = m;
    if (message.isSchema()) {
      if (n > 0) {
        scan.error = 'Arrow stream holds a second schema';
        break;
      }
      scan.schema = message.header();
      scan.version = message.version;
    } else if (n === 0 && start === 0) {
      throw new FormatError('Arrow stream does not start with a schema');
    } else if (message.isRecordBatch()) {
      const header = message.header();
      if (scan.batches === 0) scan.first = { header, body: m.body, bodyLength: m.bodyLength };
      scan.batches!++;
      scan.rows! += header.length;
    } else if (message.isDictionaryBatch()) scan.dictionaryBatches!++;
    pos = m.body + m.bodyLength;
  }
  return scan;
}

/**
 * Checks that every block of the footer lies in the data (after the magic, before the footer)
 * and that no two overlap: a footer whose blocks all point at one region would otherwise have
 * that region read once per block (2000 x 16 MiB: 12 s) and its rows counted as many times.
 */
export function checkBlocks(footer: InstanceType<ReturnType<typeof arrowIpc>['Footer']>, footerAt: number): void {
  const spans: { offset: number; end: number; what: string }[] = [];
  const add = (block: { offset: number; metaDataLength: number; bodyLength: number } | null, what: string) => {
    if (!block) throw new FormatError(`Arrow footer: ${what} missing`);
    const { offset, metaDataLength, bodyLength } = block;
    const end = offset + metaDataLength + bodyLength;
    if (!Number.isSafeInteger(offset) || offset < 8 || metaDataLength <= 0 || bodyLength < 0 || !Number.isSafeInteger(end) || end > footerAt) {
      throw new FormatError(`Arrow footer: ${what} (${offset}+${metaDataLength}+${bodyLength}) lies outside the data`);
    }
    spans.push({ offset, end, what });
  };
  for (let i = 0; i < footer.numDictionaries; i++) add(footer.getDictionaryBatch(i), `dictionary batch ${i}`);
  for (let i = 0; i < footer.numRecordBatches; i++) add(footer.getRecordBatch(i), `record batch ${i}`);
  spans.sort((a, b) => a.offset - b.offset);
  for (let k = 1; k < spans.length; k++) {
    const a = spans[k - 1];
    const b = spans[k];
    if (b.offset < a.end) throw new FormatError(`Arrow footer: ${b.what} (bytes ${b.offset}..${b.end}) overlaps ${a.what} (bytes ${a.offset}..${a.end})`);
  }
}

/**
 * The flatbuffer of the message at `offset` (inside a block of `length` bytes): a small read for
 * the prefix, then only the flatbuffer (never the block's padding or body). Counts its bytes in `budget`.
 */
export async function blockMessage(file: FileBytes, read: ReadAt, offset: number, length: number, what: string, budget: Budget): Promise<Uint8Array | null> {
  const chunk = await readExact(file, read, offset, Math.min(length, 1024), what);
  const p = messagePrefix(chunk);
  if (!p || p.len <= 0 || p.start + p.len > length) throw new FormatError(`${what}: bad message prefix`);
  if (!budget.take(p.len)) return null;
  return p.start + p.len <= chunk.length ? chunk.subarray(p.start, p.start + p.len) : readExact(file, read, offset + p.start, p.len, what, MAX_METADATA);
}

/** Reads the footer of a file and the headers of its record batches. */
async function scanFile(file: FileBytes, read: ReadAt, footerLength: number): Promise<Scan> {
  const footerAt = file.size - 10 - footerLength;
  if (footerLength <= 0 || footerAt < 8) throw new FormatError(`Arrow footer length ${footerLength} does not fit the file`);
  const bytes = await readExact(file, read, footerAt, footerLength, 'Arrow footer', MAX_METADATA);
  verifyFooter(bytes);
  const footer = arrowIpc().Footer.decode(bytes);
  if (footer.version < MetadataVersion.V4) throw new FormatError(`Arrow metadata version V${footer.version + 1} is too old`);
  checkBlocks(footer, footerAt);
  const batches = footer.numRecordBatches;
  const scan: Scan = { schema: footer.schema, version: footer.version, batches, dictionaryBatches: footer.numDictionaries, rows: null, first: null, error: null };
  if (batches > MAX_MESSAGES) return scan; // rows unknown: too many headers to read
  const budget = new Budget(MAX_METADATA);
  let rows = 0;
  for (let i = 0; i < batches; i++) {
    const { offset, metaDataLength, bodyLength } = footer.getRecordBatch(i)!;
    const meta = await blockMessage(file, read, offset, metaDataLength, `Arrow record batch ${i} header`, budget);
    if (!meta) return scan; // rows unknown: more header bytes than the budget
    const message = decodeMessage(meta);
    if (!message.isRecordBatch()) throw new FormatError(`Arrow footer: block ${i} is not a record batch`);
    const header = message.header();
    if (i === 0) scan.first = { header, body: offset + metaDataLength, bodyLength };
    rows += header.length;
  }
  return { ...scan, rows };
}

/** Buffers a node of this type owns in a record batch (children not included), or null if unknown. */
export function bufferCount(type: DataType, version: MetadataVersion): number | null {
  switch (type.typeId) {
    case Type.Null:
      return 0;
    case Type.Struct:
    case Type.FixedSizeList:
      return 1;
    case Type.Binary:
    case Type.Utf8:
    case Type.LargeBinary:
    case Type.LargeUtf8:
      return 3;
    case Type.Union:
      return ((type as unknown as { mode: UnionMode }).mode === UnionMode.Dense ? 2 : 1) + (version < MetadataVersion.V5 ? 1 : 0);
    case Type.BinaryView:
    case Type.Utf8View:
      return null; // plus a per-batch count of variadic buffers
    default:
      return fixedWidth(type) !== null || [Type.Bool, Type.List, Type.LargeList, Type.Map, Type.Dictionary].includes(type.typeId) ? 2 : null;
  }
}

/** Bytes per value of a fixed-width primitive column, or null. */
export function fixedWidth(type: DataType): number | null {
  const t = type as unknown as Record<string, number>;
  switch (type.typeId) {
    case Type.Int:
    case Type.Time:
    case Type.Decimal:
      return t.bitWidth / 8;
    case Type.Float:
      return t.precision === Precision.HALF ? 2 : t.precision === Precision.SINGLE ? 4 : 8;
    case Type.Date:
      return t.unit === DateUnit.DAY ? 4 : 8;
    case Type.Timestamp:
    case Type.Duration:
      return 8;
    case Type.Interval:
      return t.unit === IntervalUnit.YEAR_MONTH ? 4 : t.unit === IntervalUnit.DAY_TIME ? 8 : 16;
    case Type.FixedSizeBinary:
      return t.byteWidth;
  }
  return null;
}

/**
 * The columns, laid out from the first record batch: where a fixed-width column's values lie
 * (only a column in one uncompressed batch is one contiguous array), the bytes a dictionary
 * column's indices take, and the nulls a validity bitmap marks (their slots hold no value). A
 * compressed batch's columns have their size as decompressed and a note, no place in the file.
 */
function columns(scan: Scan): DecodedChild[] {
  const batch = scan.rows !== null && scan.first ? scan.first : null;
  const codec = batch?.header.compression ? compressionName(batch.header.compression.type) : null;
  let next: number | null = 0; // index of the next buffer in the batch, null once the layout is unknown
  let node = 0; // index of the next field node (one per field, children included)
  const walk = (f: Field): void => {
    const n: number | null = next === null ? null : bufferCount(f.type, scan.version);
    next = n === null || next === null ? null : next + n;
    node++;
    if (f.type.typeId !== Type.Dictionary) for (const c of f.type.children ?? []) walk(c);
  };
  return (scan.schema?.fields ?? []).map((f) => {
    const child: DecodedChild = { name: f.name, format: 'column', dtype: String(f.type), shape: null, fortranOrder: null, dataOffset: null, size: 0, error: null };
    const first = next;
    const fieldNode = node;
    walk(f);
    const dictionary = f.type.typeId === Type.Dictionary;
    // A dictionary column's batches hold its indices (the dictionary itself is in a dictionary batch).
    const width = dictionary ? (f.type as unknown as { indices: { bitWidth: number } }).indices.bitWidth / 8 : fixedWidth(f.type);
    if (!batch || first === null || width === null || !Number.isInteger(width) || width <= 0) return child;
    const values = batch.header.buffers[first + 1];
    const rows = batch.header.length;
    // Row counts from a damaged header: no layout, no size, rather than negative ones.
    if (!Number.isSafeInteger(rows) || rows < 0 || !Number.isSafeInteger(scan.rows) || scan.rows! < rows) return child;
    if (codec !== null) {
      const note = `its buffers are compressed (${codec}): the table view and \`head\` decompress them; it cannot be drawn in place`;
      return { ...child, size: scan.rows! * width, details: { compression: codec, note } };
    }
    const bytes = rows * width;
    if (!values || values.offset < 0 || values.length < bytes || values.offset + bytes > batch.bodyLength) {
      return { ...child, error: `column '${f.name}': values buffer of ${values?.length ?? 0} bytes cannot hold ${rows} rows` };
    }
    const batches = scan.batches ?? 0;
    // Every batch holds rows x width bytes of values (or indices): the column's size over all of them.
    const size = scan.rows! * width;
    if (dictionary) return { ...child, size, details: { indices: `${width * 8}-bit` } };
    if (batches > 1) {
      return { ...child, size, details: { batches, note: `its ${scan.rows} rows are spread over ${batches} record batches: not one contiguous array` } };
    }
    const nullCount = Number(batch.header.nodes[fieldNode]?.nullCount ?? 0);
    const out: DecodedChild = { ...child, shape: [rows], fortranOrder: false, dataOffset: batch.body + values.offset, size: bytes };
    if (nullCount > 0) {
      out.details = {
        nullCount,
        note: `${nullCount} of ${rows} rows are null: the validity bitmap is not applied, their slots hold whatever bytes the writer left`,
      };
    }
    return out;
  });
}

export async function decodeArrow(file: FileBytes, read: ReadAt): Promise<Decoded> {
  let kind: 'file' | 'stream' = 'stream';
  try {
    let scan: Scan;
    let error: string | null = null;
    if (startsWith(file.head, FILE_MAGIC)) {
      kind = 'file';
      const end = file.size >= 18 ? bytesAt(file, file.size - 10, 10) : null;
      if (end && startsWith(end, FILE_MAGIC, 4)) {
        scan = await scanFile(file, read, view(end).getInt32(0, true));
      } else {
        // Still being written, or cut short: the messages after the magic are a stream.
        error = 'truncated Arrow file: no footer';
        scan = await scanStream(file, read, 8).catch((e: unknown) => {
          throw new FormatError(`${error}; ${describeError(e)}`);
        });
      }
    } else {
      scan = await scanStream(file, read, 0);
    }
    // Kept bounded: each value cut, with the whole metadata's size.
    const meta = keptMetadata(scan.schema?.metadata ?? new Map());
    const details: Record<string, unknown> = {
      ipc: kind,
      version: `V${scan.version + 1}`,
      rows: scan.rows,
      batches: scan.batches,
      dictionaryBatches: scan.dictionaryBatches,
      ...(scan.first?.header.compression ? { compression: compressionName(scan.first.header.compression.type) } : {}),
      ...(meta.size > 0 ? { metadata: meta.metadata } : {}),
      ...(meta.cut ? { metadataCut: true, metadataBytes: meta.size } : {}),
    };
    return {
      format: 'arrow',
      dtype: null,
      shape: null,
      fortranOrder: null,
      dataOffset: null,
      children: keptParts(columns(scan), details),
      error: error ?? scan.error,
      details,
    };
  } catch (e) {
    return failed('arrow', e instanceof FormatError ? e.message : `Arrow ${kind}: ${describeError(e)}`, { ipc: kind });
  }
}

/** Arrow's name for a BodyCompression codec (CompressionType), or its number when Arrow defines none. */
export function compressionName(type: number): string {
  return type === 0 ? 'LZ4 frame' : type === 1 ? 'ZSTD' : `unknown codec ${type}`;
}

const VALUE_DTYPES: Record<string, string> = {
  Int8: '|i1',
  Int16: '<i2',
  Int32: '<i4',
  Int64: '<i8',
  Uint8: '|u1',
  Uint16: '<u2',
  Uint32: '<u4',
  Uint64: '<u8',
  Float16: '<f2',
  Float32: '<f4',
  Float64: '<f8',
};

/**
 * The numpy dtype of the values buffer of a column whose `dtype` is an Arrow type name
 * (`Float64` -> `<f8`; dates, times, timestamps and durations -> their integer storage),
 * or null when the column has no numeric values buffer (strings, lists, decimals...).
 */
export function arrowValuesDtype(typeName: string): string | null {
  if (VALUE_DTYPES[typeName]) return VALUE_DTYPES[typeName];
  const m = /^(Date32|Date64|Time32|Time64|Timestamp|Duration)</.exec(typeName);
  if (!m) return null;
  return m[1] === 'Date32' || m[1] === 'Time32' ? '<i4' : '<i8';
}
