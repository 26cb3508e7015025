/**
 * The management commands in VS Code: create, persist, restore, unlink, clear and
 * copy attach code. Each gathers its inputs (quick input, dialogs, the tree's
 * selection), runs the operation from extension/core/manage with a cancellable
 * progress notification, and reports what happened.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { formatBytes, shapeWords } from '../core/format-words';
import {
  attachCode,
  clearSegments,
  createSegment,
  parseDuration,
  persistSegment,
  planClear,
  replacingIfConfirmed,
  restoreSegment,
  restoresAsWords,
  unlinkSegments,
  validateName,
  type ClearRequest,
  type ClearResult,
  type Fill,
  type LongRunning,
  type PlannedName,
} from '../core/manage';
import { unlinkContainerSegments } from '../core/kinds/unlink';
import { parseShape } from '../core/array';
import { errorCode, errorMessage as message } from '../core/errors';
import { dtypeWords, parseDTypeSpec } from '../core/dtype';
import { displayText, entryPath } from '../core/names';
import { isPart } from '../core/segments';
import type { Segment } from '../core/types';
import type { SysvSegment } from '../core/sysv';
import { clearContainers, clearSysv } from '../core/kinds/clear';
import type { ContainerSegment } from '../core/kinds/containers';
import { memRemoveRefusal, type MemSegment } from '../core/kinds/memfd';

export interface ManageDeps {
  /** The directory new segments go to (the first configured one). */
  dir(): string;
  /** Segments the command applies to: the clicked item plus the multi-selection. */
  targets(arg: unknown): Segment[];
  /** Re-lists and returns the segments. */
  refresh(): Promise<Segment[]>;
  /** Reveals and selects a segment by name in the tree. */
  reveal(name: string): Promise<void>;
}

const TITLE = 'SHM Inspector';

const kindOf = (s: Segment): string => (s as { kind?: string }).kind ?? 'posix';
const isSysv = (s: Segment) => kindOf(s) === 'sysv';

/** Cancelled by the user (the progress notification's Cancel: an AbortError, code CANCELLED). */
function isAbort(e: unknown): boolean {
  return errorCode(e) === 'CANCELLED';
}

/** Runs `work` under a cancellable progress notification that shows bytes done. */
export function withByteProgress<T>(title: string, work: (lr: LongRunning) => Promise<T>): Thenable<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
    const ac = new AbortController();
    token.onCancellationRequested(() => ac.abort());
    let last = 0;
    return work({
      signal: ac.signal,
      onProgress: (done, total) => {
        if (total <= 0) return;
        const pct = (100 * done) / total;
        progress.report({ increment: pct - last, message: `${formatBytes(done)} of ${formatBytes(total)}` });
        last = pct;
      },
    });
  });
}

const DTYPES: { label: string; spec: string; description: string }[] = [
  { label: 'float32', spec: '<f4', description: '4 bytes' },
  { label: 'float64', spec: '<f8', description: '8 bytes' },
  { label: 'float16', spec: '<f2', description: '2 bytes' },
  { label: 'bfloat16', spec: 'bfloat16', description: '2 bytes (ml_dtypes)' },
  { label: 'int8', spec: '|i1', description: '1 byte' },
  { label: 'uint8', spec: '|u1', description: '1 byte' },
  { label: 'int16', spec: '<i2', description: '2 bytes' },
  { label: 'int32', spec: '<i4', description: '4 bytes' },
  { label: 'int64', spec: '<i8', description: '8 bytes' },
  { label: 'uint16', spec: '<u2', description: '2 bytes' },
  { label: 'uint32', spec: '<u4', description: '4 bytes' },
  { label: 'uint64', spec: '<u8', description: '8 bytes' },
  { label: 'bool', spec: '|b1', description: '1 byte' },
  { label: 'complex64', spec: '<c8', description: '8 bytes' },
  { label: 'complex128', spec: '<c16', description: '16 bytes' },
];

/** The shape the wizard's text gives (the CLI's parser: what one accepts the other does), or why not. */
function wizardShape(text: string): number[] | string {
  if (text.trim() === '') return 'Give at least one dimension, e.g. 1024,1024';
  try {
    return parseShape(text);
  } catch (e) {
    return message(e);
  }
}

/** The steps of the create wizard, numbered in its titles. */
const CREATE_STEPS = ['name', 'dtype', 'shape', 'contents', 'format'] as const;

function createTitle(step: (typeof CREATE_STEPS)[number], detail = ''): string {
  return `${TITLE}: Create Segment (${CREATE_STEPS.indexOf(step) + 1}/${CREATE_STEPS.length}) — ${step}${detail}`;
}

/** The create flow: name, dtype, shape, fill, format; then a cancellable write. */
async function createFlow(deps: ManageDeps): Promise<void> {
  const dir = deps.dir();
  const name = await vscode.window.showInputBox({
    title: createTitle('name', ` in ${dir}`),
    prompt: 'Name of the new segment (no /, no .., at most 255 bytes). np.load("/dev/shm/NAME") opens an .npy one.',
    placeHolder: 'features.npy',
    validateInput: (v) => (v === '' ? null : validateName(v)),
    ignoreFocusOut: true,
  });
  if (!name) return;
  const dtypePick = await vscode.window.showQuickPick([...DTYPES, { label: 'Other…', spec: '', description: 'type a numpy dtype' }], {
    title: createTitle('dtype'),
    placeHolder: 'Element type',
    ignoreFocusOut: true,
  });
  if (!dtypePick) return;
  let dtype = dtypePick.spec;
  if (!dtype) {
    const typed = await vscode.window.showInputBox({
      title: createTitle('dtype'),
      prompt: "What np.dtype() takes for numbers: '<f4', '>i8', 'uint16', 'complex64', or bfloat16",
      validateInput: (v) => (parseDTypeSpec(v) ? null : `'${v}' is not a numeric dtype`),
      ignoreFocusOut: true,
    });
    if (!typed) return;
    dtype = typed;
  }
  const shapeText = await vscode.window.showInputBox({
    title: createTitle('shape'),
    prompt: "Dimensions separated by commas, as the CLI's --shape",
    placeHolder: '1024,1024',
    validateInput: (v) => {
      const s = wizardShape(v);
      return typeof s === 'string' ? s : null;
    },
    ignoreFocusOut: true,
  });
  if (!shapeText) return;
  const shape = wizardShape(shapeText) as number[];
  const fillPick = await vscode.window.showQuickPick(
    [
      { label: 'zeros', description: 'sparse: uses RAM only once written', fill: 'zeros' as Fill | 'file' },
      { label: 'random', description: 'uniform random values', fill: 'random' as Fill | 'file' },
      { label: 'arange', description: '0, 1, 2, … in C order', fill: 'arange' as Fill | 'file' },
      { label: 'from an .npy file…', description: 'copy an array from disk', fill: 'file' as Fill | 'file' },
    ],
    { title: createTitle('contents'), ignoreFocusOut: true },
  );
  if (!fillPick) return;
  let from: string | undefined;
  if (fillPick.fill === 'file') {
    const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'NumPy arrays': ['npy'] }, title: 'Array to copy' });
    if (!picked || picked.length === 0) return;
    from = picked[0].fsPath;
  }
  const formatPick = await vscode.window.showQuickPick(
    [
      { label: 'npy', description: "self-describing: np.load(path, mmap_mode='r+')", picked: true },
      { label: 'raw', description: 'bare bytes (SharedMemory-style); dtype and shape are not stored' },
    ],
    { title: createTitle('format'), ignoreFocusOut: true },
  );
  if (!formatPick) return;
  try {
    const r = await withByteProgress(`Creating ${name}`, (lr) =>
      createSegment({
        ...lr,
        dir,
        name,
        dtype: from ? undefined : dtype,
        shape: from ? undefined : shape,
        fill: fillPick.fill === 'file' ? undefined : fillPick.fill,
        from,
        format: formatPick.label as 'npy' | 'raw',
      }),
    );
    await deps.refresh();
    await deps.reveal(r.name);
    const choice = await vscode.window.showInformationMessage(
      `Created ${r.name}: ${formatBytes(r.size)} · ${dtypeWords(r.dtype)} · ${shapeWords(r.shape)}`,
      'Preview',
      'Copy Python Code',
    );
    if (choice === 'Preview') await vscode.commands.executeCommand('shmInspector.preview', r.name);
    if (choice === 'Copy Python Code') await vscode.commands.executeCommand('shmInspector.copyAttachCode', r.name);
  } catch (e) {
    if (isAbort(e)) void vscode.window.showInformationMessage(`Creating ${name} was cancelled; nothing was left behind.`);
    else void vscode.window.showErrorMessage(`${TITLE}: could not create ${name}: ${message(e)}`);
  }
}

/** The directory a listed segment lives in (its path less its relative name). */
export function dirOf(s: Segment): string {
  return s.path.slice(0, s.path.length - entryPath(s.name).length - 1) || '/';
}

function holdersWords(s: Segment): string {
  return s.holders.map((h) => (h.pid === process.pid ? `this window's SHM Inspector (a preview maps it)` : `${displayText(h.comm)} (pid ${h.pid})`)).join(', ');
}

/** A container's file (`ns:NS/NAME`, a row of the Containers group). */
const isContainerSegment = (s: Segment) => (s as { kind?: string }).kind === 'container';

async function unlinkFlow(deps: ManageDeps, arg: unknown): Promise<void> {
  const picked = deps.targets(arg).filter((s) => !s.deleted && !isPart(s));
  if (picked.length === 0) {
    void vscode.window.showInformationMessage(`${TITLE}: select the segments to unlink in the Segments view.`);
    return;
  }
  // Holders change without any file-system event (a process maps the segment): look again now.
  // A container's file (ns:NS/NAME) is not in this list: it goes as its row was listed (device and
  // inode), and is looked up again inside its namespace, where its holders are checked once more.
  const fresh = await deps.refresh();
  const segs = picked
    .map((p) => (isContainerSegment(p) ? p : fresh.find((s) => !s.deleted && s.path === p.path && s.name === p.name)))
    .filter((s): s is Segment => s !== undefined);
  if (segs.length === 0) {
    void vscode.window.showInformationMessage(`${TITLE}: ${picked.map((s) => s.name).join(', ')} no longer exists.`);
    return;
  }
  const held = segs.filter((s) => s.holders.length > 0);
  const total = segs.reduce((t, s) => t + s.allocatedBytes, 0);
  const what = segs.length === 1 ? segs[0].name : `${segs.length} segments (${formatBytes(total)})`;
  const lines = [`Unlink ${what}?`];
  if (held.length > 0) {
    lines.push(
      '',
      ...held.map((s) => `${s.name} is still held by ${holdersWords(s)}.`),
      'Unlinking removes the name, but frees no RAM until those processes let go.',
    );
  } else {
    lines.push('', `This frees ${formatBytes(total)} of RAM. Processes that open it by name later will not find it.`);
  }
  const choice = await vscode.window.showWarningMessage(lines[0], { modal: true, detail: lines.slice(1).join('\n') }, 'Unlink');
  if (choice !== 'Unlink') return;
  // Each as shown in the dialog: a name given to another file meanwhile is left alone.
  const byDir = new Map<string, PlannedName[]>();
  const inContainers = segs.filter(isContainerSegment);
  for (const s of segs) if (!isContainerSegment(s)) byDir.set(dirOf(s), [...(byDir.get(dirOf(s)) ?? []), s]);
  const out = (
    await Promise.all([
      ...[...byDir].map(([dir, names]) => unlinkSegments({ dir, names, force: true })),
      inContainers.length > 0 ? unlinkContainerSegments(inContainers, { force: true }) : Promise.resolve([]),
    ])
  ).flat();
  await deps.refresh();
  const removed = out.filter((o) => o.status === 'removed');
  const failed = out.filter((o) => o.status !== 'removed');
  const freed = removed.reduce((t, o) => t + o.bytes, 0);
  const pending = removed.reduce((t, o) => t + o.pendingBytes, 0);
  let text = `Unlinked ${removed.length} of ${out.length}: ${formatBytes(freed)} freed now`;
  if (pending > 0) text += `, ${formatBytes(pending)} when the holders let go`;
  if (failed.length > 0) {
    void vscode.window.showErrorMessage(`${text}. Failed: ${failed.map((f) => `${f.name}: ${f.error ?? f.status}`).join('; ')}`);
  } else {
    void vscode.window.showInformationMessage(text + '.');
  }
}

/** A modal warning with a Replace button: true when the user chose it. */
async function askToReplace(text: string, detail: string): Promise<boolean> {
  return (await vscode.window.showWarningMessage(text, { modal: true, detail }, 'Replace')) === 'Replace';
}

async function persistFlow(deps: ManageDeps, arg: unknown, target?: string): Promise<void> {
  const seg = deps.targets(arg)[0];
  if (!seg) {
    void vscode.window.showInformationMessage(`${TITLE}: pick a segment in the Segments view to persist.`);
    return;
  }
  let file = target;
  /** The save dialog asks before it returns an existing file: replacing that snapshot (its .sha256 and .json too) is confirmed. */
  let confirmed = false;
  if (!file) {
    // sysv:ID has no file name: `sysv-<key>-<id>`, with .npy when it holds one.
    const base = isSysv(seg) ? `sysv-${(seg as unknown as SysvSegment).sysv.keyHex}-${(seg as unknown as SysvSegment).sysv.shmid}` : path.basename(seg.name);
    const suggestion = (seg.format === 'raw' && seg.dtype) || (isSysv(seg) && seg.format === 'npy') ? `${base}.npy` : base;
    const home = process.env.HOME ?? '/';
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? home;
    const uri = await vscode.window.showSaveDialog({
      title: `Persist ${seg.name} to disk`,
      defaultUri: vscode.Uri.file(path.join(folder, suggestion)),
      saveLabel: 'Persist',
    });
    if (!uri) return;
    file = uri.fsPath;
    confirmed = await fs.promises.lstat(file).then(
      () => true,
      () => false,
    );
  }
  const to = file;
  const run = (force: boolean) =>
    withByteProgress(`Persisting ${seg.name}`, (lr) =>
      persistSegment({
        ...lr,
        // A System V segment has no path (nor a folder): its name is all persist needs.
        dir: seg.path ? dirOf(seg) : deps.dir(),
        name: seg.name,
        to,
        force,
        pid: seg.deleted && !isSysv(seg) ? seg.holders[0]?.pid : undefined,
      }),
    );
  try {
    const r = await replacingIfConfirmed(
      run,
      async (e) =>
        confirmed ||
        askToReplace(
          `Replace the snapshot at ${to}?`,
          `${e.existing.map((p) => path.basename(p)).join(', ')} already ${e.existing.length === 1 ? 'exists' : 'exist'} there and would be replaced.`,
        ),
    );
    if (!r) return;
    void vscode.window.showInformationMessage(
      `Persisted ${seg.name} to ${r.file} (${formatBytes(r.bytes)}, ${r.format}); SHA-256 in ${path.basename(r.file)}.sha256.` +
        (r.fromKind ? ` ${restoresAsWords(r.fromKind).replace(/^r/, 'R')}.` : ''),
    );
  } catch (e) {
    if (isAbort(e)) void vscode.window.showInformationMessage(`Persisting ${seg.name} was cancelled; no file was changed.`);
    else void vscode.window.showErrorMessage(`${TITLE}: could not persist ${seg.name}: ${message(e)}`);
  }
}

async function restoreFlow(deps: ManageDeps, fileArg?: unknown): Promise<void> {
  let file = typeof fileArg === 'string' ? fileArg : fileArg instanceof vscode.Uri ? fileArg.fsPath : undefined;
  if (!file) {
    const picked = await vscode.window.showOpenDialog({ canSelectMany: false, title: 'Snapshot to restore into shared memory', openLabel: 'Restore' });
    if (!picked || picked.length === 0) return;
    file = picked[0].fsPath;
  }
  const dir = deps.dir();
  const name = path.basename(file);
  const run = (force: boolean) => withByteProgress(`Restoring ${name}`, (lr) => restoreSegment({ ...lr, dir, file: file!, name, force }));
  try {
    const r = await replacingIfConfirmed(run, () =>
      askToReplace(`${name} already exists in ${dir}.`, 'Replace it with the snapshot? Processes that map the old one keep seeing the old data.'),
    );
    if (!r) return;
    await deps.refresh();
    await deps.reveal(r.name);
    void vscode.window.showInformationMessage(
      `Restored ${r.name} (${formatBytes(r.bytes)})${r.verified ? ', checksum verified' : ' — no .sha256 beside the file, so it was not verified'}.`,
    );
  } catch (e) {
    if (isAbort(e)) void vscode.window.showInformationMessage(`Restoring ${name} was cancelled; nothing was left behind.`);
    else void vscode.window.showErrorMessage(`${TITLE}: could not restore ${name}: ${message(e)}`);
  }
}

const segmentsWord = (n: number) => `${n} segment${n === 1 ? '' : 's'}`;

async function clearFlow(deps: ManageDeps, arg: unknown): Promise<void> {
  const dir = deps.dir();
  const chosen = arg !== undefined ? deps.targets(arg) : [];
  // The other kinds of the selection (issue #15): System V rows, containers' files, memfd regions.
  const others = chosen.filter((s) => kindOf(s) !== 'posix');
  const selected = chosen.filter((s) => kindOf(s) === 'posix' && !s.deleted && !isPart(s));
  const req: ClearRequest = { dir };
  if (selected.length > 0 || others.length > 0) {
    req.dir = selected.length > 0 ? dirOf(selected[0]) : dir;
    req.names = selected.filter((s) => dirOf(s) === req.dir).map((s) => s.name);
  } else {
    const glob = await vscode.window.showInputBox({
      title: `${TITLE}: Clear Segments — which names? (1/2)`,
      prompt: `A glob over the names in ${dir} (psm_*, *.npy, joblib_*); empty: any name`,
      placeHolder: 'psm_*',
      ignoreFocusOut: true,
    });
    if (glob === undefined) return;
    if (glob.trim() !== '') req.glob = glob.trim();
    const opts = await vscode.window.showQuickPick(
      [
        { label: 'Orphans only', description: 'no process maps or holds them', key: 'orphans' },
        { label: 'Older than…', description: 'by modification time', key: 'older' },
        { label: 'Include segments in use', description: 'unlinking them frees RAM only when their holders let go', key: 'inuse' },
      ],
      { title: `${TITLE}: Clear Segments — conditions (2/2)`, canPickMany: true, ignoreFocusOut: true },
    );
    if (!opts) return;
    const keys = new Set(opts.map((o) => o.key));
    if (keys.has('orphans')) req.orphans = true;
    if (keys.has('inuse')) req.includeInUse = true;
    if (keys.has('older')) {
      const d = await vscode.window.showInputBox({
        title: `${TITLE}: Clear Segments — older than`,
        prompt: 'A duration: 90s, 15m, 2h, 7d',
        validateInput: (v) => (parseDuration(v) === null ? 'Write a number and s, m, h or d: 90s, 15m, 2h, 7d' : null),
        ignoreFocusOut: true,
      });
      if (!d) return;
      req.olderThanMs = parseDuration(d)!;
    }
    if (!req.glob && !req.orphans && req.olderThanMs === undefined) {
      void vscode.window.showWarningMessage(`${TITLE}: give a pattern, orphans only, or an age: clearing everything is not offered.`);
      return;
    }
  }
  const parts: ClearPart[] = [];
  if (req.names === undefined || req.names.length > 0) {
    const { result, segments } = await planClear(req);
    parts.push({ plan: result, segments, run: (picked, signal) => clearSegments({ ...req, names: picked, dryRun: false, signal }) });
  }
  parts.push(...(await otherKindParts(others)));
  const plan = mergeClear(parts.map((p) => p.plan));
  const segments = parts.flatMap((p) => p.segments);
  // A memfd region or anonymous memory as the tree shows it: its producer's label, then its name.
  const labels = new Map(others.map((s) => [s.name, (s as unknown as Partial<MemSegment>).label ?? null]));
  const shown = (name: string) => {
    const l = labels.get(name);
    return l ? `${displayText(l)} (${name})` : name;
  };
  if (segments.length === 0) {
    void vscode.window.showInformationMessage(
      `${TITLE}: nothing to clear${
        plan.skipped.length
          ? ` (${plan.skipped.length} skipped: ${plan.skipped
              .map((s) => `${shown(s.name)}: ${s.reason}`)
              .slice(0, 3)
              .join('; ')})`
          : ''
      }.`,
    );
    return;
  }
  type Item = vscode.QuickPickItem & { seg?: Segment };
  const items: Item[] = segments.map((s) => ({ label: s.name, seg: s, picked: true }));
  const left = [...plan.failed.map((f) => ({ name: f.name, reason: f.error })), ...plan.skipped];
  if (left.length > 0) {
    items.push({ label: 'Skipped', kind: vscode.QuickPickItemKind.Separator });
    for (const s of left) items.push({ label: `$(circle-slash) ${shown(s.name)}`, description: s.reason });
  }
  const picked = await vscode.window.showQuickPick(items, {
    title: `Clear ${segmentsWord(segments.length)}: ${formatBytes(plan.bytes)} freed now${plan.pendingBytes ? `, ${formatBytes(plan.pendingBytes)} when holders let go` : ''}`,
    placeHolder: 'Uncheck what to keep, then press Enter to remove the checked segments',
    canPickMany: true,
    ignoreFocusOut: true,
  });
  if (!picked) return;
  // Exactly the segments shown: one whose name now holds another file (or whose shmid another segment) is left alone.
  const chosenSegs = new Set(picked.map((p) => p.seg).filter((s): s is Segment => !!s));
  if (chosenSegs.size === 0) return;
  let result: ClearResult;
  try {
    result = await withByteProgress(`Clearing ${segmentsWord(chosenSegs.size)}`, async (lr) => {
      const done: ClearResult[] = [];
      for (const part of parts) {
        const mine = part.segments.filter((s) => chosenSegs.has(s));
        if (mine.length === 0 || lr.signal?.aborted) continue;
        const r = await part.run(mine, lr.signal);
        done.push(r);
        if (r.interrupted) break;
      }
      // What the plan showed as skipped or failing (a memfd has no name to unlink, a segment in use...) stays in the report.
      return mergeClear([...done, { removed: [], skipped: plan.skipped, failed: plan.failed, bytes: 0, pendingBytes: 0 }]);
    });
  } catch (e) {
    void vscode.window.showErrorMessage(`${TITLE}: could not clear: ${message(e)}`);
    return;
  } finally {
    await deps.refresh();
  }
  const summary =
    (result.interrupted ? `Clearing was cancelled after removing ${result.removed.length}` : `Cleared ${segmentsWord(result.removed.length)}`) +
    `: ${formatBytes(result.bytes)} freed now` +
    (result.pendingBytes ? `, ${formatBytes(result.pendingBytes)} when holders let go` : '') +
    (result.skipped.length ? `; ${result.skipped.length} skipped` : '') +
    (result.failed.length ? `; ${result.failed.length} failed` : '');
  const show = result.failed.length > 0 ? vscode.window.showErrorMessage : vscode.window.showInformationMessage;
  const choice = await show(summary + '.', 'Show Details');
  if (choice === 'Show Details') await reports.show('clear', result);
}

/** One kind's share of a clear: its plan, the segments it would remove, and how to remove the picked ones. */
interface ClearPart {
  plan: ClearResult;
  segments: Segment[];
  run(picked: Segment[], signal?: AbortSignal): Promise<ClearResult>;
}

/** The plans of the selection's other kinds: System V rows and containers' files by their own rules; memfd and anonymous refused, saying why. */
async function otherKindParts(others: Segment[]): Promise<ClearPart[]> {
  const parts: ClearPart[] = [];
  const sysv = others.filter((s) => kindOf(s) === 'sysv') as unknown as SysvSegment[];
  const inContainers = others.filter((s) => kindOf(s) === 'container') as unknown as ContainerSegment[];
  const held = others.filter((s) => kindOf(s) === 'memfd' || kindOf(s) === 'anonymous');
  const picks = <T extends { name: string }>(plan: ClearResult, given: T[]) => given.filter((s) => plan.planned?.includes(s.name)) as unknown as Segment[];
  if (sysv.length > 0) {
    const plan = await clearSysv({ segments: sysv, dryRun: true });
    parts.push({ plan, segments: picks(plan, sysv), run: (picked) => clearSysv({ segments: picked as unknown as SysvSegment[] }) });
  }
  if (inContainers.length > 0) {
    const plan = await clearContainers({ segments: inContainers, dryRun: true });
    parts.push({
      plan,
      segments: picks(plan, inContainers),
      run: (picked, signal) => clearContainers({ segments: picked as unknown as ContainerSegment[], signal }),
    });
  }
  if (held.length > 0) {
    const plan: ClearResult = {
      dryRun: true,
      planned: [],
      removed: [],
      failed: [],
      bytes: 0,
      pendingBytes: 0,
      skipped: held.map((s) => ({ name: s.name, reason: memRemoveRefusal(s as unknown as MemSegment) })),
    };
    parts.push({ plan, segments: [], run: () => Promise.resolve(plan) });
  }
  return parts;
}

/** Several clear results as one (the summary and the details of a clear across kinds). */
function mergeClear(results: ClearResult[]): ClearResult {
  const out: ClearResult = { removed: [], skipped: [], failed: [], bytes: 0, pendingBytes: 0 };
  for (const r of results) {
    if (r.dryRun) Object.assign(out, { dryRun: true, planned: [...(out.planned ?? []), ...(r.planned ?? [])] });
    if (r.interrupted) out.interrupted = true;
    out.removed.push(...r.removed);
    out.skipped.push(...r.skipped);
    out.failed.push(...r.failed);
    out.bytes += r.bytes;
    out.pendingBytes += r.pendingBytes;
  }
  return out;
}

/**
 * Reports shown as read-only JSON documents (scheme `shm-inspector-report`): they are never
 * dirty, so closing one asks nothing. Each text is dropped when its document closes.
 */
class Reports implements vscode.TextDocumentContentProvider {
  static readonly scheme = 'shm-inspector-report';
  private readonly texts = new Map<string, string>();
  private n = 0;
  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? '';
  }
  async show(what: string, value: unknown): Promise<void> {
    const stamp = new Date().toISOString().slice(11, 19).replace(/:/g, '');
    const uri = vscode.Uri.from({ scheme: Reports.scheme, path: `/${what}-${stamp}-${++this.n}.json` });
    this.texts.set(uri.toString(), JSON.stringify(value, null, 2) + '\n');
    const doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc, { preview: true });
  }
  register(): vscode.Disposable[] {
    return [
      vscode.workspace.registerTextDocumentContentProvider(Reports.scheme, this),
      vscode.workspace.onDidCloseTextDocument((d) => {
        if (d.uri.scheme === Reports.scheme) this.texts.delete(d.uri.toString());
      }),
    ];
  }
}

const reports = new Reports();

/** What the copied code needs beyond Python (issue #15's kinds): who must still hold it, where it must run. */
function attachCaveat(seg: Segment): string {
  const kind = (seg as { kind?: string }).kind;
  const who = seg.holders.map((h) => `${displayText(h.comm)} (pid ${h.pid})`).join(', ') || 'its holder';
  if (kind === 'memfd') return ` It opens it through ${who}: it works only while that process holds it, and for the same user (or root).`;
  if (kind === 'anonymous') return ` It opens it through ${who}'s /proc/PID/map_files: as root only, while that process maps it.`;
  const ns = (seg as { namespace?: { id: number; name: string } }).namespace;
  if (kind === 'sysv' && ns) return ` The segment is in IPC namespace ${ns.id} (${displayText(ns.name)}): run the code inside it, or as root on Python 3.12+.`;
  if (kind === 'sysv') return ' It attaches read-only (shmat with SHM_RDONLY); detach with shmdt when done.';
  return '';
}

async function copyAttachFlow(deps: ManageDeps, arg: unknown): Promise<void> {
  let seg = deps.targets(arg)[0];
  if (!seg && typeof arg === 'string') seg = (await deps.refresh()).find((s) => s.name === arg) as Segment;
  if (!seg) return;
  const snippet = attachCode(seg);
  await vscode.env.clipboard.writeText(snippet.code);
  const req = snippet.requires.length > 0 ? ` (needs ${snippet.requires.join(', ')})` : '';
  void vscode.window.showInformationMessage(`Copied Python code that opens ${seg.name} with ${snippet.kind}${req}.${attachCaveat(seg)}`);
}

export function registerManageCommands(deps: ManageDeps): vscode.Disposable[] {
  return [
    ...reports.register(),
    vscode.commands.registerCommand('shmInspector.create', () => createFlow(deps)),
    vscode.commands.registerCommand('shmInspector.unlink', (arg?: unknown) => unlinkFlow(deps, arg)),
    vscode.commands.registerCommand('shmInspector.persist', (arg?: unknown, target?: unknown) =>
      persistFlow(deps, arg, typeof target === 'string' ? target : undefined),
    ),
    vscode.commands.registerCommand('shmInspector.restore', (file?: unknown) => restoreFlow(deps, file)),
    vscode.commands.registerCommand('shmInspector.clear', (arg?: unknown) => clearFlow(deps, arg)),
    vscode.commands.registerCommand('shmInspector.copyAttachCode', (arg?: unknown) => copyAttachFlow(deps, arg)),
  ];
}
