/**
 * *Interpret As…*: gives a raw segment (bytes with no header, e.g. a SharedMemory a matrix was
 * written into) a dtype, shape, offset and order. A quick pick lists likely layouts
 * (core/layouts.ts: from the size, and a bounded sample of the bytes read on the addon's workers);
 * the active one is drawn at once in a preview panel (focus stays in the pick), so the user sees
 * which one is right before choosing it. Accepting stores it (core/interpretations.ts, the file
 * the CLI shares); cancelling drops the layout tried (the panel it opened closes). "Other layout…"
 * asks dtype, shape, offset and order one by one. Bytes a layout leaves after the data are said.
 * A raw System V segment is interpreted the same way (sampled through a read-only attach, its
 * layout kept under its shmid and creation time: core/sysv-interpret.ts).
 */
import { fsPath } from '../core/names';
import * as path from 'path';
import * as vscode from 'vscode';
import { parseDTypeSpec, dtypeWords, parseNumericDType } from '../core/dtype';
import { formatBytes, shapeWords } from '../core/format-words';
import { applyInterpretation, identityOf, interpretSegment, misfit, removeInterpretation, storedInterpretation, type Interpretation } from '../core/interpretations';
import { leftoverWords, proposeForFile, type LayoutProposal } from '../core/layouts';
import { collectSegments } from '../core/segments';
import type { Segment } from '../core/types';
import { PreviewPanel, type SegmentLookup } from '../preview';
import { isReadFailure } from '../core/errors';
import { forgetSysvInterpretation, interpretSysv } from '../core/sysv-interpret';
import { isSysvSegment, proposeForSysv, sysvOf } from '../core/sysv-view';

export interface InterpretDeps {
  context: vscode.ExtensionContext;
  /** Segments the command applies to (the clicked item, a name), or none (palette). */
  targets(arg: unknown): Segment[];
  /** Re-lists and returns the segments. */
  refresh(): Promise<Segment[]>;
  lookup: SegmentLookup;
}

const TITLE = 'SHM Inspector';
/** Active-item changes closer than this draw only the last one (arrowing through the list). */
const PREVIEW_DELAY_MS = 120;

/**
 * True for a segment Interpret As… applies to: raw bytes of a live regular file, or of a System V
 * segment this user can attach (not one removed while attached).
 */
export function isInterpretable(s: Segment): boolean {
  if (s.format !== 'raw' || s.deleted) return false;
  return isSysvSegment(s) ? !isReadFailure(s.errorCode) : s.path !== null;
}

/** Proposals for a segment's layout: from its bytes (a file's mapping, a System V segment's attach). */
function propose(s: Segment, max: number): Promise<LayoutProposal[]> {
  const sysv = sysvOf(s);
  return sysv ? proposeForSysv(sysv, max) : proposeForFile(fsPath(s.path), s.size, max);
}

/** Stores a layout for a segment (a System V one under its shmid and creation time: core/sysv-interpret.ts). */
function store(s: Segment, layout: Interpretation): Promise<{ interpretation: Interpretation; leftoverBytes: number }> {
  const sysv = sysvOf(s);
  return sysv ? interpretSysv(sysv, layout) : interpretSegment(dirOf(s), s.name, layout);
}

/** Forgets a segment's layout; false when it had none. */
async function forget(s: Segment): Promise<boolean> {
  const sysv = sysvOf(s);
  return sysv ? forgetSysvInterpretation(sysv) : removeInterpretation(await identityOf(dirOf(s), s.name));
}

/** The directory a segment's name is relative to. */
function dirOf(s: Segment): string {
  return s.path.endsWith('/' + s.name) ? s.path.slice(0, s.path.length - s.name.length - 1) : path.dirname(s.path);
}

export function layoutLabel(i: Interpretation): string {
  return `${dtypeWords(i.dtype)} ${shapeWords(i.shape)}`;
}

/** The segment as it reads with `interp` (a copy: the tree's segment is not changed). */
function withLayout(s: Segment, interp: Interpretation): Segment {
  const copy: Segment = { ...s, error: null, dtype: null, shape: null, fortranOrder: null, dataOffset: null, details: { ...(s.details ?? {}) } };
  applyInterpretation(copy, interp);
  return copy;
}

type Item = vscode.QuickPickItem & { layout?: Interpretation; action?: 'other' | 'clear' };

function proposalItem(p: LayoutProposal, size: number, current: Interpretation | null): Item {
  const same = current && current.dtype === p.dtype && current.shape.join() === p.shape.join() && current.offset === p.offset && current.order === p.order;
  return {
    label: layoutLabel(p),
    description: [p.offset ? `from offset ${p.offset}` : '', `${p.order} order`, p.reason, same ? 'current' : ''].filter(Boolean).join(' · '),
    detail: p.trailingBytes > 0 ? `Leaves ${p.trailingBytes} of ${size} bytes after the data unread` : undefined,
    layout: { dtype: p.dtype, shape: p.shape, offset: p.offset, order: p.order },
  };
}

/** Stores a layout for the segment and says what it leaves over; false when it could not be stored. */
async function commit(s: Segment, layout: Interpretation): Promise<boolean> {
  try {
    const { interpretation, leftoverBytes } = await store(s, layout);
    const words = leftoverBytes > 0 ? leftoverWords(s.size, interpretation) : null;
    const text = `${s.name}: interpreted as ${layoutLabel(interpretation)}, ${interpretation.order} order${interpretation.offset ? ` from offset ${interpretation.offset}` : ''}.`;
    if (words) void vscode.window.showWarningMessage(`${text} The layout ${words}.`);
    else void vscode.window.setStatusBarMessage(`$(check) ${text}`, 5000);
    return true;
  } catch (e) {
    void vscode.window.showErrorMessage(`${TITLE}: ${e instanceof Error ? e.message : String(e)}`);
    return false;
  }
}

/** "Other layout…": dtype, shape, offset and order, one input each (the active proposal prefilled). */
async function askLayout(s: Segment, start: Interpretation | null): Promise<Interpretation | undefined> {
  const steps = 4;
  const title = (k: number) => `Interpret ${s.name} (${s.size} bytes) As… (${k}/${steps})`;
  const dtypeText = await vscode.window.showInputBox({
    title: title(1),
    prompt: 'dtype: what numpy calls it (float16, float32, f8, <i4, >u2, uint8, complex64) or bfloat16',
    value: start ? dtypeWords(start.dtype) : 'float32',
    ignoreFocusOut: true,
    validateInput: (t) => (parseDTypeSpec(t) ? null : `'${t}' is not a numeric dtype numpy knows`),
  });
  if (dtypeText === undefined) return undefined;
  const dt = parseDTypeSpec(dtypeText)!;
  const offsetOk = (t: string) => /^\s*\d+\s*$/.test(t) && Number.isSafeInteger(Number(t));
  const offsetText = await vscode.window.showInputBox({
    title: title(2),
    prompt: 'Offset: bytes before the first element (a header the producer wrote); 0 for none',
    value: String(start?.offset ?? 0),
    ignoreFocusOut: true,
    validateInput: (t) => (!offsetOk(t) ? 'A non-negative whole number of bytes' : Number(t) >= s.size ? `The segment has only ${s.size} bytes` : null),
  });
  if (offsetText === undefined) return undefined;
  const offset = Number(offsetText);
  const elements = Math.floor((s.size - offset) / dt.itemsize);
  const parseShape = (t: string): number[] | null => {
    const parts = t.split(/[,x×\s]+/).filter(Boolean);
    if (parts.length === 0 || parts.length > 32 || !parts.every((p) => /^\d+$/.test(p))) return null;
    return parts.map(Number);
  };
  const shapeText = await vscode.window.showInputBox({
    title: title(3),
    prompt: `Shape: dimensions separated by commas (${elements} ${dt.name} elements fit after offset ${offset})`,
    value: start && parseNumericDType(start.dtype)?.itemsize === dt.itemsize ? start.shape.join(',') : String(elements),
    ignoreFocusOut: true,
    validateInput: (t) => {
      const shape = parseShape(t);
      if (!shape) return 'Whole numbers separated by commas, e.g. 1000,1000';
      const layout = { dtype: dt.str, shape, offset, order: 'C' as const };
      const bad = misfit(s.size, layout);
      if (bad) return bad;
      const words = leftoverWords(s.size, layout);
      return words ? { message: `This layout ${words}`, severity: vscode.InputBoxValidationSeverity.Warning } : null;
    },
  });
  if (shapeText === undefined) return undefined;
  const shape = parseShape(shapeText)!;
  const order = await vscode.window.showQuickPick(
    [
      { label: 'C', description: 'row-major: the last index varies fastest (numpy default)' },
      { label: 'F', description: 'column-major: the first index varies fastest (Fortran, MATLAB, order="F")' },
    ],
    { title: title(4), placeHolder: 'Order of the elements', ignoreFocusOut: true },
  );
  if (!order) return undefined;
  return { dtype: dt.str, shape, offset, order: order.label as 'C' | 'F' };
}

/**
 * The quick pick of layouts with a live preview; resolves with the layout chosen (stored by
 * the caller), 'other', 'clear', or undefined when dismissed.
 */
async function pickLayout(
  deps: InterpretDeps,
  s: Segment,
): Promise<{ layout?: Interpretation; action?: 'other' | 'clear'; panel: PreviewPanel | null; active?: Interpretation } | undefined> {
  const current = storedInterpretation(s);
  const qp = vscode.window.createQuickPick<Item>();
  qp.title = `Interpret ${s.name} (${formatBytes(s.size)}, ${s.size} bytes) As…`;
  qp.placeholder = 'Likely layouts from its size and bytes; the highlighted one is previewed';
  qp.matchOnDescription = true;
  qp.matchOnDetail = true;
  qp.ignoreFocusOut = true;
  qp.busy = true;
  qp.show();
  const tail: Item[] = [{ label: '$(edit) Other layout…', description: 'dtype, shape, offset and order', action: 'other', alwaysShow: true }];
  if (current)
    tail.push({ label: '$(discard) Clear the interpretation', description: `now ${layoutLabel(current)}: raw bytes again`, action: 'clear', alwaysShow: true });

  let panel: PreviewPanel | null = null;
  let shown: Interpretation | undefined;
  let timer: NodeJS.Timeout | undefined;
  const preview = (layout: Interpretation) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      shown = layout;
      panel = PreviewPanel.show(deps.context, withLayout(s, layout), deps.lookup, { reuse: false, relayout: true, preserveFocus: true });
    }, PREVIEW_DELAY_MS);
  };
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: { layout?: Interpretation; action?: 'other' | 'clear' } | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r ? { ...r, panel, active: shown } : panel || shown ? { panel, active: shown } : undefined);
      qp.dispose();
    };
    qp.onDidChangeActive(([item]) => item?.layout && preview(item.layout));
    qp.onDidAccept(() => {
      const item = qp.selectedItems[0] ?? qp.activeItems[0];
      if (!item) return;
      finish(item.layout ? { layout: item.layout } : { action: item.action });
    });
    qp.onDidHide(() => finish(undefined));
    propose(s, 12).then(
      (proposals) => {
        if (done) return;
        const items = proposals.map((p) => proposalItem(p, s.size, current));
        // The layout it has now comes first (highlighted, so previewed as it is).
        const at = items.findIndex((i) => i.description?.endsWith('current'));
        const now = at >= 0 ? items.splice(at, 1)[0] : null;
        if (now) items.unshift(now);
        else if (current) {
          items.unshift({
            label: layoutLabel(current),
            description: `${current.offset ? `from offset ${current.offset} · ` : ''}${current.order} order · current`,
            layout: current,
          });
        }
        qp.items = [...items, { label: '', kind: vscode.QuickPickItemKind.Separator }, ...tail];
        qp.busy = false;
      },
      (e: unknown) => {
        qp.items = tail;
        qp.busy = false;
        qp.placeholder = `No proposals: ${e instanceof Error ? e.message : String(e)}`;
      },
    );
  });
}

/** Interpret As… for one segment: pick (with preview), then store; or step by step; or clear. */
export async function interpretAs(deps: InterpretDeps, s: Segment): Promise<void> {
  if (!isInterpretable(s)) {
    void vscode.window.showErrorMessage(`${TITLE}: ${s.name} is ${s.deleted ? 'deleted' : s.format}; only raw segments (no header) are interpreted.`);
    return;
  }
  const hadPanel = PreviewPanel.all().some((p) => p.name === s.name);
  const picked = await pickLayout(deps, s);
  let layout = picked?.layout;
  if (picked?.action === 'other') layout = await askLayout(s, picked.active ?? storedInterpretation(s));
  if (picked?.action === 'clear') {
    const cleared = await forget(s).catch((e: unknown) => {
      void vscode.window.showErrorMessage(`${TITLE}: ${e instanceof Error ? e.message : String(e)}`);
      return false;
    });
    picked.panel?.close();
    if (cleared) void vscode.window.setStatusBarMessage(`$(check) ${s.name}: raw bytes again`, 5000);
    await deps.refresh();
    return;
  }
  if (!layout || !(await commit(s, layout))) {
    // Cancelled: the layout tried is dropped (a panel that showed the stored one shows it again).
    if (picked?.panel) {
      if (hadPanel && storedInterpretation(s)) PreviewPanel.show(deps.context, s, deps.lookup, { relayout: true });
      else picked.panel.close();
    }
    return;
  }
  // A System V segment is not in the catalog's list: it is shown with the layout chosen.
  const now = isSysvSegment(s) ? undefined : (await deps.refresh()).find((x) => x.path === s.path && x.name === s.name);
  if (isSysvSegment(s)) await deps.refresh();
  // The panel shows what was chosen: already, when it was the layout previewed last; otherwise (entered
  // step by step, or chosen before its preview came up) it is drawn now.
  const a = picked?.active;
  const previewed =
    picked?.panel && a && a.dtype === layout.dtype && a.shape.join() === layout.shape.join() && a.offset === layout.offset && a.order === layout.order;
  if (!previewed) PreviewPanel.show(deps.context, now ?? withLayout(s, layout), deps.lookup, { relayout: true });
}

export function registerInterpretCommands(deps: InterpretDeps): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('shmInspector.interpretAs', async (arg?: unknown) => {
      let s: Segment | undefined = arg === undefined ? undefined : deps.targets(arg)[0];
      if (typeof arg === 'string' && !s) {
        void vscode.window.showErrorMessage(`${TITLE}: no segment named ${arg}`);
        return;
      }
      if (!s) {
        const raw = collectSegments(await deps.refresh(), isInterpretable);
        if (raw.length === 0) {
          void vscode.window.showInformationMessage(`${TITLE}: no raw segment (bytes with no header) to interpret.`);
          return;
        }
        const pick = await vscode.window.showQuickPick(
          raw.map((x) => ({
            label: x.name,
            description: `${formatBytes(x.size)} · ${storedInterpretation(x) ? `now ${layoutLabel(storedInterpretation(x)!)}` : 'raw'}`,
            segment: x,
          })),
          { placeHolder: 'Raw segment to interpret', matchOnDescription: true },
        );
        s = pick?.segment;
      }
      if (s) await interpretAs(deps, s);
    }),
  ];
}
