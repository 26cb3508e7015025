/** `create`, `persist`, `restore`, `unlink`, `clear` and `attach`: the management commands. */
import { inspectSegment, resolveName, UsageError } from '../core/catalog';
import { dtypeWords, parseDTypeSpec } from '../core/dtype';
import { formatBytes, shapeWords } from '../core/format-words';
import {
  attachCode,
  clearSegments,
  createSegment,
  OperationError,
  parseDuration,
  persistSegment,
  restoreSegment,
  restoresAsWords,
  unlinkSegments,
  validateName,
  type ClearResult,
  type Fill,
  type ProgressFn,
  type UnlinkOutcome,
} from '../core/manage';
import { displayText, escapeText, respell } from '../core/names';
import { shapeFlag } from '../core/select';
import { inspectSysv, ownIpcNamespace, parseSysvName, removeSysvSegment } from '../core/sysv';
import { inspectMemSegment, memClearRefusal, memRemoveRefusal, parseMemName } from '../core/kinds/memfd';
import { isKindName } from '../core/kinds';
import { inspectForeignSysv, parseForeignSysvName, removeForeignSysv } from '../core/kinds/ipcns';
import { parseContainerName } from '../core/kinds/containers';
import { clearContainers, clearSysv } from '../core/kinds/clear';
import { unlinkContainerSegments } from '../core/kinds/unlink';
import type { Segment } from '../core/types';
import { Failure, failureOf, table, type Command, type CommandContext } from './common';
import { errorCode } from '../core/errors';

const str = (ctx: CommandContext, k: string): string | undefined => {
  const v = ctx.values[k];
  return typeof v === 'string' ? v : undefined;
};
const flag = (ctx: CommandContext, k: string): boolean => ctx.values[k] === true;

/** A new segment's NAME: the shm_open spelling `/name` is accepted; no other `/`. */
function newName(given: string): string {
  const name = /^\/[^/]/.test(given) ? given.slice(1) : given;
  const bad = validateName(name);
  if (bad) throw new UsageError(bad);
  return respell(name);
}

/**
 * A progress line on stderr for a long copy, only when stderr is a terminal (scripts that
 * capture stderr see nothing but errors), redrawn at most every 100 ms and erased at the end.
 */
function progressLine(what: string): { report: ProgressFn; done(): void } {
  const tty = process.stderr.isTTY === true;
  const started = Date.now();
  let last = 0;
  let shown = false;
  return {
    report(done, total) {
      const now = Date.now();
      if (!tty || now - last < 100 || now - started < 300 || total <= 0) return;
      last = now;
      shown = true;
      const rate = done / Math.max(0.001, (now - started) / 1000);
      const pct = Math.min(100, Math.floor((done * 100) / total));
      process.stderr.write(`\r\x1b[K${what}: ${pct}% (${formatBytes(done)} of ${formatBytes(total)}, ${formatBytes(rate)}/s; Ctrl+C cancels)`);
    },
    done() {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}

/**
 * Runs a cancellable operation: SIGINT, SIGTERM and SIGHUP abort it (it then cleans up).
 * Operation errors become failures. `what` names a long copy for its progress line.
 */
async function cancellable<T>(op: (signal: AbortSignal, onProgress: ProgressFn) => Promise<T>, what = ''): Promise<T> {
  const ac = new AbortController();
  const stop = () => ac.abort();
  const sigs: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of sigs) process.on(s, stop);
  const progress = progressLine(what);
  try {
    return await op(ac.signal, progress.report);
  } catch (e) {
    throw asFailure(e);
  } finally {
    progress.done();
    for (const s of sigs) process.off(s, stop);
  }
}

function asFailure(e: unknown): unknown {
  if (errorCode(e) === 'CANCELLED') return new Failure('cancelled; nothing was left behind', 'CANCELLED');
  if (e instanceof OperationError) return failureOf(e);
  return e;
}

function unlinkLine(o: UnlinkOutcome): string {
  if (o.status === 'removed' && o.name.startsWith('sysv:')) {
    if (o.pendingBytes > 0 || o.holders.length > 0)
      return `removed ${o.name}; its ${formatBytes(o.pendingBytes)} stay in RAM until ${o.holders.length > 0 ? o.holders.map((h) => `${displayText(h.comm)} (pid ${h.pid})`).join(', ') : 'its processes'} detach`;
    return `removed ${o.name} (freed ${formatBytes(o.bytes)})`;
  }
  if (o.status === 'removed') {
    if (o.pendingBytes > 0)
      return `unlinked ${o.name}; its ${formatBytes(o.pendingBytes)} stay in RAM until ${o.holders.map((h) => `${displayText(h.comm)} (pid ${h.pid})`).join(', ')} let go`;
    return `unlinked ${o.name} (freed ${formatBytes(o.bytes)})`;
  }
  return `${o.name}: ${o.error ?? o.status}`;
}

function clearText(r: ClearResult): string {
  const lines: string[] = [];
  const dry = r.dryRun === true;
  const pending = r.pendingBytes > 0 ? `; ${formatBytes(r.pendingBytes)} more once their holders let go` : '';
  const entries = (n: number) => `${n} entr${n === 1 ? 'y' : 'ies'}`;
  const listed = dry ? (r.planned ?? []) : r.removed;
  if (r.interrupted)
    lines.push(
      `interrupted: ${r.removed.length === 0 ? 'removed nothing' : `removed ${entries(r.removed.length)} before it stopped, freed ${formatBytes(r.bytes)}${pending}:`}`,
    );
  else if (dry) lines.push(listed.length === 0 ? 'nothing to remove' : `would remove ${entries(listed.length)}, freeing ${formatBytes(r.bytes)}${pending}:`);
  else lines.push(listed.length === 0 ? 'removed nothing' : `removed ${entries(listed.length)}, freed ${formatBytes(r.bytes)}${pending}:`);
  for (const n of listed) lines.push(`  ${n}`);
  if (r.skipped.length > 0) {
    lines.push('skipped:');
    lines.push(table(r.skipped.map((s) => [`  ${s.name}`, s.reason])));
  }
  if (r.failed.length > 0) {
    lines.push('failed:');
    lines.push(table(r.failed.map((f) => [`  ${f.name}`, f.error])));
  }
  return lines.join('\n');
}

/** `unlink memfd:INO|anon:INO`: never removed (no name to unlink); `failed`, saying who must let go. */
async function heldOutcome(name: string): Promise<UnlinkOutcome> {
  const none = { bytes: 0, pendingBytes: 0 };
  const s = await inspectMemSegment(name);
  if (!s) return { name, status: 'missing', error: 'no such region (no visible process holds it)', ...none, holders: [] };
  return { name, status: 'failed', error: memRemoveRefusal(s), ...none, holders: s.holders };
}

/** `sysv:ID` or `sysv:NS/ID` (a malformed `sysv:` name is a usage error). */
async function isSysvName(name: string): Promise<boolean> {
  const ns = await ownIpcNamespace();
  return parseForeignSysvName(name, ns) !== null || parseSysvName(name, ns) !== null;
}

/**
 * The segment `attach` writes code for: a file of D, or (issue #15) `sysv:ID`, `sysv:NS/ID`,
 * `memfd:INO`, `anon:INO`; a container's `ns:NS/NAME` is opened from inside it, not from here.
 */
async function attachTarget(ctx: CommandContext): Promise<Segment> {
  const name = ctx.positionals[0];
  const ns = await ownIpcNamespace();
  const foreign = parseForeignSysvName(name, ns);
  const shmid = foreign ? null : parseSysvName(name, ns);
  let seg: Segment | null;
  if (foreign) seg = (await inspectForeignSysv(foreign.ns, foreign.shmid).catch((e: unknown) => Promise.reject(failureOf(e)))) as unknown as Segment | null;
  else if (shmid !== null) seg = (await inspectSysv(shmid)) as unknown as Segment | null;
  else if (parseMemName(name)) {
    seg = (await inspectMemSegment(name)) as unknown as Segment | null;
    if (!seg) throw new Failure(`${name}: no such region (no visible process holds it)`, 'ENOENT');
  } else if (parseContainerName(name)) {
    throw new Failure(`${name}: a container's file; attach to it from inside the container, as /dev/shm/${name.slice(name.indexOf('/') + 1)}`);
  } else {
    const { rel } = resolveName(ctx.dir, name);
    seg = await inspectSegment(rel, { dirs: [ctx.dir] });
    if (!seg) throw new Failure(`${rel}: no such segment`, 'ENOENT');
  }
  if (!seg) throw new Failure(`${name}: no such System V segment`, 'ENOENT');
  return seg;
}

export const MANAGE_COMMANDS: Command[] = [
  {
    name: 'create',
    synopsis: 'create NAME --dtype D --shape A,B[,...] [--fill zeros|random|arange] [--from FILE.npy] [--format npy|raw]',
    summary: 'a new array segment (NPY by default: np.load(path, mmap_mode="r+") opens it); never overwrites',
    options: { dtype: { type: 'string' }, shape: { type: 'string' }, fill: { type: 'string' }, from: { type: 'string' }, format: { type: 'string' } },
    positionals: [1, 1],
    async run(ctx) {
      const name = newName(ctx.positionals[0]);
      const dtype = str(ctx, 'dtype');
      if (dtype !== undefined && !parseDTypeSpec(dtype))
        throw new UsageError(`--dtype: unsupported dtype '${dtype}' (float32, <f4, >i8, u1, complex64, bfloat16...)`);
      const shapeText = str(ctx, 'shape');
      const shape = shapeText !== undefined ? shapeFlag(shapeText) : undefined;
      const fill = str(ctx, 'fill');
      if (fill !== undefined && !['zeros', 'random', 'arange'].includes(fill)) throw new UsageError(`--fill must be zeros, random or arange (got '${fill}')`);
      const format = str(ctx, 'format');
      if (format !== undefined && format !== 'npy' && format !== 'raw') throw new UsageError(`--format must be npy or raw (got '${format}')`);
      const from = str(ctx, 'from');
      if (from !== undefined && fill !== undefined) throw new UsageError('--fill and --from exclude each other');
      if (from === undefined && (dtype === undefined || shape === undefined)) throw new UsageError('create needs --dtype and --shape (or --from FILE.npy)');
      const r = await cancellable(
        (signal, onProgress) =>
          createSegment({ dir: ctx.dir, name, dtype, shape, fill: fill as Fill | undefined, from, format: format as 'npy' | 'raw' | undefined, signal, onProgress }),
        `creating ${name}`,
      );
      if (ctx.json) ctx.printJson(r);
      else
        ctx.print(
          `created ${r.name}: ${dtypeWords(r.dtype)} ${shapeWords(r.shape)}, ${r.format}, ${r.size} bytes (${formatBytes(r.size)}), data at offset ${r.dataOffset}\n${displayText(r.path)}`,
        );
      return 0;
    },
  },
  {
    name: 'persist',
    synopsis: 'persist NAME --to FILE [--pid P] [--force]',
    summary: 'snapshot a segment to FILE (+ FILE.sha256; FILE.json for raw bytes); --pid reads a deleted one through that holder; never overwrites without --force',
    options: { to: { type: 'string' }, pid: { type: 'string' }, force: { type: 'boolean' } },
    positionals: [1, 1],
    async run(ctx) {
      const to = str(ctx, 'to');
      if (!to) throw new UsageError('persist needs --to FILE');
      const pidText = str(ctx, 'pid');
      if (pidText !== undefined && !/^[1-9]\d{0,9}$/.test(pidText)) throw new UsageError(`--pid: not a process id: '${pidText}'`);
      const given = ctx.positionals[0];
      const rel = isKindName(given) || (await isSysvName(given)) ? given : resolveName(ctx.dir, given).rel;
      const r = await cancellable(
        (signal, onProgress) =>
          persistSegment({ dir: ctx.dir, name: rel, to, pid: pidText ? Number(pidText) : undefined, force: flag(ctx, 'force'), signal, onProgress }),
        `persisting ${rel}`,
      );
      if (ctx.json) ctx.printJson(r);
      else {
        ctx.print(
          `persisted ${rel} to ${displayText(r.file)} (${r.format}, ${r.bytes} bytes)\nsha256 ${r.sha256} in ${displayText(r.file)}.sha256` +
            (r.sidecar ? `\nwhat is known about the raw bytes: ${displayText(r.sidecar)}` : '') +
            (r.fromKind ? `\n${restoresAsWords(r.fromKind)}` : ''),
        );
      }
      return 0;
    },
  },
  {
    name: 'restore',
    synopsis: 'restore FILE [--name NAME] [--force]',
    summary: "load a snapshot back (checked against FILE.sha256); NAME defaults to FILE's base name",
    options: { name: { type: 'string' }, force: { type: 'boolean' } },
    positionals: [1, 1],
    async run(ctx) {
      const given = str(ctx, 'name');
      const name = given !== undefined ? newName(given) : undefined;
      if (name === undefined) {
        const base = ctx.positionals[0].replace(/\/+$/, '').split('/').pop() ?? '';
        const bad = validateName(escapeText(base));
        if (bad) throw new UsageError(`${bad}; give --name`);
      }
      const r = await cancellable(
        (signal, onProgress) => restoreSegment({ dir: ctx.dir, file: ctx.positionals[0], name, force: flag(ctx, 'force'), signal, onProgress }),
        `restoring ${ctx.positionals[0]}`,
      );
      if (ctx.json) ctx.printJson(r);
      else ctx.print(`restored ${r.name} (${r.bytes} bytes) to ${displayText(r.path)}; ${r.verified ? 'checksum verified' : 'no .sha256 file: not verified'}`);
      return 0;
    },
  },
  {
    name: 'unlink',
    synopsis: 'unlink NAME... [--force]',
    summary:
      'remove segments (sysv:SHMID with IPC_RMID; ns:NS/NAME inside its container); one a process holds only with --force (its RAM stays in use until it lets go)',
    options: { force: { type: 'boolean' } },
    positionals: [0, Number.MAX_SAFE_INTEGER],
    async run(ctx) {
      if (ctx.positionals.length === 0) throw new UsageError('unlink needs at least one NAME');
      // System V names (sysv:SHMID) are removed with IPC_RMID; the rest are files of D. Outcomes keep the given order.
      const ns = await ownIpcNamespace();
      const foreign = ctx.positionals.map((n) => parseForeignSysvName(n, ns));
      const ids = ctx.positionals.map((n, i) => (foreign[i] ? foreign[i].shmid : parseSysvName(n, ns)));
      // ns:NS/NAME: a container's file, removed inside its namespace (core/kinds/unlink.ts).
      const inContainer = ctx.positionals.map((n) => parseContainerName(n) !== null);
      const held = ctx.positionals.map((n, i) => !inContainer[i] && isKindName(n));
      const files = ctx.positionals.filter((_, i) => ids[i] === null && !held[i] && !inContainer[i]);
      const containerOutcomes = inContainer.some(Boolean)
        ? await unlinkContainerSegments(
            ctx.positionals.filter((_, i) => inContainer[i]),
            { force: flag(ctx, 'force') },
          ).catch((e: unknown) => {
            throw asFailure(e);
          })
        : [];
      const fileOutcomes =
        files.length === 0
          ? []
          : await unlinkSegments({ dir: ctx.dir, names: files, force: flag(ctx, 'force') }).catch((e: unknown) => {
              throw asFailure(e);
            });
      const outcomes: UnlinkOutcome[] = [];
      for (const [i, id] of ids.entries()) {
        const f = foreign[i];
        if (f) outcomes.push(await removeForeignSysv(f.ns, f.shmid, { force: flag(ctx, 'force') }));
        else if (inContainer[i]) outcomes.push(containerOutcomes.shift()!);
        else if (held[i]) outcomes.push(await heldOutcome(ctx.positionals[i]));
        else outcomes.push(id === null ? fileOutcomes.shift()! : await removeSysvSegment(id, { force: flag(ctx, 'force') }));
      }
      const bad = outcomes.filter((o) => o.status !== 'removed');
      if (outcomes.length === 1 && bad.length === 1)
        throw new Failure(`${bad[0].name}: ${bad[0].error ?? bad[0].status}`, bad[0].status === 'missing' ? 'ENOENT' : 'FAILED');
      const bytes = outcomes.reduce((a, o) => a + o.bytes, 0);
      const pendingBytes = outcomes.reduce((a, o) => a + o.pendingBytes, 0);
      if (ctx.json) ctx.printJson({ outcomes, bytes, pendingBytes });
      else ctx.print(outcomes.map(unlinkLine).join('\n'));
      if (bad.length > 0) throw new PartialFailure(`${bad.length} of ${outcomes.length} not unlinked (see above)`);
      return 0;
    },
  },
  {
    name: 'clear',
    synopsis: 'clear [--glob G] [--orphans] [--older-than DURATION] [--include-in-use] [--dry-run] [--yes] [--json] [--kind posix|sysv|container] [--namespace NS]',
    summary: 'remove segments by selectors (combined with AND); in-use ones only with --include-in-use; a plan unless --yes',
    options: {
      glob: { type: 'string' },
      orphans: { type: 'boolean' },
      'older-than': { type: 'string' },
      'include-in-use': { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      yes: { type: 'boolean' },
      kind: { type: 'string' },
      namespace: { type: 'string' },
    },
    positionals: [0, 0],
    async run(ctx) {
      const kind = str(ctx, 'kind') ?? 'posix';
      if (kind === 'memfd' || kind === 'anonymous') throw new UsageError(`clear --kind ${kind}: ${memClearRefusal(kind)}`);
      if (kind !== 'posix' && kind !== 'sysv' && kind !== 'container') throw new UsageError(`clear --kind: posix, sysv or container (got '${kind}')`);
      const nsText = str(ctx, 'namespace');
      if (nsText !== undefined && kind === 'posix') throw new UsageError('--namespace goes with --kind sysv or container');
      if (nsText !== undefined && !/^\d{1,12}$/.test(nsText) && !(nsText === 'all' && kind === 'sysv'))
        throw new UsageError(`--namespace: a namespace's inode number${kind === 'sysv' ? ' or all' : ''} (got '${nsText}')`);
      const namespace = nsText === undefined ? undefined : nsText === 'all' ? ('all' as const) : Number(nsText);
      const glob = str(ctx, 'glob');
      const olderText = str(ctx, 'older-than');
      const orphans = flag(ctx, 'orphans');
      if (glob === undefined && olderText === undefined && !orphans) {
        throw new UsageError('clear needs at least one selector: --glob G, --orphans or --older-than DURATION');
      }
      if (glob === '') throw new UsageError('--glob needs a pattern');
      let olderThanMs: number | undefined;
      if (olderText !== undefined) {
        const d = parseDuration(olderText);
        if (d === null) throw new UsageError(`--older-than: bad duration '${olderText}' (90s, 15m, 2h, 7d)`);
        olderThanMs = d;
      }
      const dryRun = flag(ctx, 'dry-run') || !flag(ctx, 'yes');
      const includeInUse = flag(ctx, 'include-in-use');
      const r =
        kind === 'sysv'
          ? await clearSysv({ glob, orphans, olderThanMs, includeInUse, dryRun, namespace })
          : kind === 'container'
            ? await cancellable((signal) =>
                clearContainers({ glob, orphans, olderThanMs, includeInUse, dryRun, signal, namespace: namespace as number | undefined }),
              )
            : await cancellable((signal) => clearSegments({ dir: ctx.dir, glob, orphans, olderThanMs, includeInUse, dryRun, signal }));
      const planned = r.planned?.length ?? 0;
      if (ctx.json) ctx.printJson(r);
      else {
        let text = clearText(r);
        if (r.dryRun && !flag(ctx, 'yes') && planned > 0) text += '\nnothing was removed: pass --yes to remove them';
        else if (r.dryRun && planned > 0) text += '\n--dry-run: nothing was removed';
        ctx.print(text);
      }
      if (r.interrupted) throw new PartialFailure(`interrupted: ${r.removed.length} removed before it stopped (listed above); the rest is left in place`);
      if (r.failed.length > 0) throw new PartialFailure(`${r.failed.length} could not be removed (see above)`);
      return 0;
    },
  },
  {
    name: 'attach',
    synopsis: 'attach NAME [--python 3.X]',
    summary:
      "print Python code that opens the segment (np.load, SharedMemory, SharedArray, safetensors, pyarrow, joblib; shmat for sysv:, a holder's fd for memfd:)",
    options: { python: { type: 'string' } },
    positionals: [1, 1],
    async run(ctx) {
      const pv = str(ctx, 'python');
      let python: [number, number] | undefined;
      if (pv !== undefined) {
        const m = /^(\d)\.(\d{1,2})$/.exec(pv);
        if (!m || m[1] !== '3') throw new UsageError(`--python: expected 3.X (got '${pv}')`);
        python = [3, Number(m[2])];
      }
      const seg = await attachTarget(ctx);
      const s = attachCode(seg, { python });
      if (ctx.json) ctx.printJson(s);
      else {
        let text = s.code.trimEnd();
        if (s.requires.length > 0) text = `# needs: ${s.requires.join(', ')}\n${text}`;
        for (const a of s.alternatives ?? []) text += `\n\n# or, with ${a.requires.join(', ') || 'the standard library'} only:\n${a.code.trimEnd()}`;
        ctx.print(text);
      }
      return 0;
    },
  },
];

/**
 * Some of several items failed: the details are already on stdout; exit 1 with a one-line summary on stderr.
 * (A Failure thrown after printing: cli.ts prints its message as the one stderr line.)
 */
class PartialFailure extends Failure {}
