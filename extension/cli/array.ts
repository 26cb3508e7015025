/** `stats` and `render`: the array commands (docs/cli.md, "Array commands"). */
import * as path from 'path';
import { COLORMAPS, colorize, isColormap, linearNorm, type ColormapName } from '../../contract/colormaps';
import { DEFAULT_REDUCE_MODE, isReduceMode, REDUCE_MODE_NAMES } from '../../contract/reduce';
import { inspectSegment, resolveName, UsageError } from '../core/catalog';
import { dtypeWords } from '../core/dtype';
import { displayText, fsPath } from '../core/names';
import { writeUserFile } from '../core/fsutil';
import { formatNumber } from '../core/numbers';
import { encodePng } from '../core/png';
import { parseSelectionFlags, selectArray, selectSlice, SELECTION_OPTIONS, SelectionError, wholeArray, type Selected, type SelectionFlags } from '../core/select';
import { storedInterpretation } from '../core/interpretations';
import { leftoverWords } from '../core/layouts';
import { inspectSysv, ownIpcNamespace, parseSysvName } from '../core/sysv';
import { heldArraySegment } from '../core/kinds';
import { inspectForeignSysv, openForeignSysvView, parseForeignSysvName, type ForeignSysvSegment } from '../core/kinds/ipcns';
import type { Segment } from '../core/types';
import { openSysvView, openView, type MappedView } from '../native';
import { errorCode, isReadFailure, ShmError } from '../core/errors';
import { Failure, failureOf, statsDoc, statsTable, type Command, type CommandContext } from './common';
import { tableColumnStats } from './head';

const SELECTION_HELP =
  'SELECTION: --tensor T | --column C | --dtype D --shape A,B[,...] [--offset N] [--order C|F]; --axes I,J; --index K1,K2,...; --part magnitude|phase|real|imag';

const DEFAULT_SIZE = 512;
const MAX_SIZE = 16384;
/** Pixels of one image at most (8192 x 8192): the native reducer's own limit on grid cells. */
const MAX_PIXELS = 64 * 1024 * 1024;

/**
 * The array NAME and the selection flags point at, mapped; `use` runs with it, then it is closed.
 * The view is opened only on the very file whose header was decoded: when the name was renamed over
 * (or recreated) in between, the segment is inspected once more, and then refused (exit 1).
 */
async function withArray<T>(ctx: CommandContext, flags: SelectionFlags, use: (view: MappedView, sel: Selected) => Promise<T>): Promise<T> {
  const own = await ownIpcNamespace();
  // sysv:NS/SHMID of another IPC namespace: inspected and attached by a thread inside it.
  const foreign = parseForeignSysvName(ctx.positionals[0], own);
  let inNs: ForeignSysvSegment | null = null;
  const shmid = foreign ? foreign.shmid : parseSysvName(ctx.positionals[0], own);
  let view: MappedView | null = null;
  let sel: Selected | null = null;
  for (let attempt = 0; !view; attempt++) {
    // memfd:INO, anon:INO: read through a holder's link (its `path` here), opened only on that inode.
    let seg: Segment | null = shmid === null ? await heldArraySegment(ctx.positionals[0]) : null;
    if (seg) {
      // Found.
    } else if (shmid !== null) {
      const s = foreign
        ? (inNs = await inspectForeignSysv(foreign.ns, shmid, {}).catch((e: unknown) => Promise.reject(failureOf(e))))
        : await inspectSysv(shmid, { holders: false });
      if (!s) throw new Failure(`${foreign ? ctx.positionals[0] : `sysv:${shmid}`}: no such System V segment`, 'ENOENT');
      // Not attachable (another user's, too large): say why rather than ask for a dtype.
      if (isReadFailure(s.errorCode)) throw failureOf(new ShmError(s.error ?? '', s.errorCode!), s.name);
      // The selection needs no path: the view is attached by shmid below.
      seg = { ...s, path: s.name };
    } else {
      const { rel } = resolveName(ctx.dir, ctx.positionals[0]);
      seg = await inspectSegment(rel, { dirs: [ctx.dir], holders: false });
      if (!seg) throw new Failure(`${rel}: no such segment`, 'ENOENT');
    }
    try {
      sel = selectArray(seg, flags);
    } catch (e) {
      if (e instanceof SelectionError) throw failureOf(e);
      throw e;
    }
    if (attempt === 0) {
      // A raw layout (given or stored) that stops short of the end reads a prefix: say so.
      const layout = seg.format === 'raw' ? (flags.raw ?? storedInterpretation(seg)) : null;
      const left = layout ? leftoverWords(seg.size, layout) : null;
      if (left) ctx.note(`${seg.name}: the layout ${left}`);
    }
    try {
      view = inNs ? await openForeignSysvView(inNs) : shmid !== null ? await openSysvView(shmid) : await openView(fsPath(sel.path), sel.identity);
    } catch (e) {
      if (shmid !== null || errorCode(e) !== 'CHANGED') throw failureOf(e, sel.what);
      if (attempt > 0) throw new Failure(`${sel.what}: replaced by another file while it was being opened, twice (renamed over or recreated); try again`, 'CHANGED');
    }
  }
  try {
    return await use(view, sel!);
  } catch (e) {
    if (e instanceof UsageError || e instanceof Failure) throw e;
    if (e instanceof SelectionError) throw failureOf(e);
    // Native errors: shrank, file system full, window outside... (their code goes along)
    throw failureOf(e, sel!.what);
  } finally {
    view.close();
  }
}

/** Values on a terminal: 9 significant digits at most (the JSON has them all). */
const numberText = (v: number | null): string => formatNumber(v, 9);

/** `r0:r1,c0:c1` (either end may be left out: `:`, `10:`, `:20`). */
function parseWindow(text: string): { r: [number | null, number | null]; c: [number | null, number | null] } {
  const parts = text.split(',');
  const range = (t: string): [number | null, number | null] => {
    const m = /^\s*(\d*)\s*:\s*(\d*)\s*$/.exec(t);
    if (!m) throw new UsageError(`--window is r0:r1,c0:c1 (got '${text}')`);
    return [m[1] === '' ? null : Number(m[1]), m[2] === '' ? null : Number(m[2])];
  };
  if (parts.length !== 2) throw new UsageError(`--window is r0:r1,c0:c1 (got '${text}')`);
  return { r: range(parts[0]), c: range(parts[1]) };
}

function parseSize(flag: string, v: unknown): number {
  if (v === undefined) return DEFAULT_SIZE;
  const s = String(v);
  const n = Number(s);
  if (!/^\d+$/.test(s) || n < 1 || n > MAX_SIZE) throw new UsageError(`--${flag} takes an integer from 1 to ${MAX_SIZE} (got '${s}')`);
  return n;
}

function parseDomain(v: unknown): [number, number] | 'auto' {
  if (v === undefined || v === 'auto') return 'auto';
  const s = String(v);
  const m = /^\s*([^:]+?)\s*:\s*([^:]+?)\s*$/.exec(s);
  const lo = m ? Number(m[1]) : NaN;
  const hi = m ? Number(m[2]) : NaN;
  if (!m || !Number.isFinite(lo) || !Number.isFinite(hi) || !(hi > lo)) {
    throw new UsageError(`--domain is auto or LO:HI with LO < HI (got '${s}'; write --domain=-1:1 for a negative bound)`);
  }
  return [lo, hi];
}

/** RGBA pixels of a grid of values under a colormap over [lo, hi] (NaN and +-Inf take the colormap's special colours). */
function rgba(values: Float64Array, name: ColormapName, lo: number, hi: number): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  colorize(values, out, linearNorm(lo, hi), name);
  return out;
}

export const ARRAY_COMMANDS: Command[] = [
  {
    name: 'stats',
    synopsis: 'stats NAME [--dir D] [--json] [SELECTION]',
    summary: `count, finite count, min, max, mean, std (ddof=0), NaN and Inf counts of an array (of the 2-D slice with --index). ${SELECTION_HELP}`,
    options: { ...SELECTION_OPTIONS },
    positionals: [1, 1],
    async run(ctx) {
      const flags = parseSelectionFlags(ctx.values);
      // A table's column (Arrow over several batches or with nulls, a record field): cli/head.ts.
      const column = await tableColumnStats(ctx);
      if (column !== null) return column;
      return withArray(ctx, flags, async (view, sel) => {
        // Statistics would count the null rows' slots as values: no numbers rather than wrong ones.
        if (sel.nullCount) throw new Failure(`${sel.what}: ${sel.note}; statistics would count them as values`);
        const sliced = flags.index !== undefined;
        // The 2-D slice is resolved either way, so that bad --axes/--part are reported.
        const slice = selectSlice(sel.layout, flags);
        const spec = sliced ? slice : wholeArray(sel.layout, flags);
        const st = await view.stats(spec);
        if (ctx.json) {
          ctx.printJson(statsDoc(st));
          return 0;
        }
        const over = sliced ? `the ${spec.rows} x ${spec.cols} slice` : `the whole array [${sel.layout.shape.join(', ')}]`;
        const part = flags.part ? `, ${flags.part}` : '';
        ctx.print(`${sel.what}: ${dtypeWords(sel.layout.dtype)}${part}, over ${over}`);
        ctx.print(statsTable(st));
        return 0;
      });
    },
  },
  {
    name: 'render',
    synopsis: 'render NAME --out FILE.png [--width W] [--height H] [--colormap C] [--mode M] [--domain auto|LO:HI] [--window r0:r1,c0:c1] [SELECTION]',
    summary: `a W x H PNG of a 2-D slice (default ${DEFAULT_SIZE} x ${DEFAULT_SIZE}, never more pixels than elements; --mode ${REDUCE_MODE_NAMES.join('|')}, default ${DEFAULT_REDUCE_MODE}; --colormap ${COLORMAPS.join('|')}, default viridis). ${SELECTION_HELP}`,
    options: {
      ...SELECTION_OPTIONS,
      out: { type: 'string' },
      width: { type: 'string' },
      height: { type: 'string' },
      colormap: { type: 'string' },
      mode: { type: 'string' },
      domain: { type: 'string' },
      window: { type: 'string' },
    },
    positionals: [1, 1],
    async run(ctx) {
      const v = ctx.values;
      const out = typeof v.out === 'string' ? v.out : undefined;
      if (!out) throw new UsageError('render needs --out FILE.png');
      const width = parseSize('width', v.width);
      const height = parseSize('height', v.height);
      const colormap = v.colormap === undefined ? 'viridis' : String(v.colormap);
      if (!isColormap(colormap)) throw new UsageError(`unknown colormap '${colormap}' (one of ${COLORMAPS.join(', ')})`);
      const mode = v.mode === undefined ? DEFAULT_REDUCE_MODE : String(v.mode);
      if (!isReduceMode(mode)) throw new UsageError(`--mode is one of ${REDUCE_MODE_NAMES.join(', ')} (got '${String(v.mode)}')`);
      const domain = parseDomain(v.domain);
      const win = typeof v.window === 'string' ? parseWindow(v.window) : null;
      const flags = parseSelectionFlags(v);
      return withArray(ctx, flags, async (view, sel) => {
        const slice = selectSlice(sel.layout, flags);
        const r0 = win?.r[0] ?? 0;
        const r1 = win?.r[1] ?? slice.rows;
        const c0 = win?.c[0] ?? 0;
        const c1 = win?.c[1] ?? slice.cols;
        if (!(r0 < r1 && r1 <= slice.rows && c0 < c1 && c1 <= slice.cols)) {
          throw new Failure(`${sel.what}: window ${r0}:${r1},${c0}:${c1} is outside the ${slice.rows} x ${slice.cols} slice (or empty)`);
        }
        // Never more cells than the window has elements.
        const gw = Math.min(width, c1 - c0);
        const gh = Math.min(height, r1 - r0);
        // The image is made in memory (4 bytes a pixel, the grid beside it): as many pixels as the reducer takes, no more.
        if (gw * gh > MAX_PIXELS) {
          throw new UsageError(
            `--width ${width} --height ${height} makes a ${gw} x ${gh} image of this ${r1 - r0} x ${c1 - c0} window: ${gw * gh} pixels, more than ${MAX_PIXELS} (e.g. --width 8192 --height 8192)`,
          );
        }
        const grid = await view.reduce({ ...slice, r0, r1, c0, c1, gridWidth: gw, gridHeight: gh, mode });
        const [lo, hi] = domain === 'auto' ? [grid.min ?? 0, grid.max ?? 1] : domain;
        const png = encodePng(grid.width, grid.height, rgba(grid.values, colormap, lo, hi));
        const file = path.resolve(out);
        try {
          // Never opens what is at --out (a FIFO would block, a symlink would be written through).
          await writeUserFile(file, [png]);
        } catch (e) {
          throw failureOf(e, `cannot write ${out}`);
        }
        if (ctx.json) {
          ctx.printJson({ out: file, width: grid.width, height: grid.height, mode, colormap, domain: [lo, hi], window: [r0, r1, c0, c1] });
        } else {
          ctx.print(
            `wrote ${displayText(out)}: ${grid.width} x ${grid.height} pixels of ${sel.what} rows ${r0}:${r1}, columns ${c0}:${c1} (${mode}), ${colormap} over ${numberText(lo)}..${numberText(hi)}`,
          );
          if (sel.note) ctx.print(`note: ${sel.note}`);
        }
        return 0;
      });
    },
  },
];
