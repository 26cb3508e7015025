/**
 * `interpret`: gives a raw segment a layout (dtype, shape, offset, order) that `list`, `inspect`,
 * `stats`, `render`, `persist`, `attach` and the extension then use; `--clear` forgets it; without
 * a layout it prints the stored one and likely layouts from the segment's size and bytes
 * (docs/cli.md, "interpret"). NAME may be a System V segment's (`sysv:SHMID`, `sysv:NS/SHMID`).
 */
import { fsPath } from '../core/names';
import { inspectSegment, resolveName, UsageError } from '../core/catalog';
import { dtypeWords } from '../core/dtype';
import { formatBytes, shapeWords } from '../core/format-words';
import {
  identityOf,
  InterpretationError,
  interpretSegment,
  leftoverBytes,
  removeInterpretation,
  storedInterpretation,
  type Interpretation,
} from '../core/interpretations';
import { leftoverWords, proposeForFile } from '../core/layouts';
import { parseSelectionFlags } from '../core/select';
import type { Segment } from '../core/types';
import type { SysvSegment } from '../core/sysv';
import { isReadFailure, ShmError } from '../core/errors';
import { forgetSysvInterpretation, interpretSysv } from '../core/sysv-interpret';
import { lookupSysv, proposeForSysv } from '../core/sysv-view';
import { Failure, failureOf, table, type Command } from './common';

/** `float16 1000×1000, C order` (`, from offset 16` when there is one). */
export function layoutWords(i: Interpretation): string {
  return `${dtypeWords(i.dtype)} ${shapeWords(i.shape)}, ${i.order} order${i.offset ? `, from offset ${i.offset}` : ''}`;
}

/** The live raw segment NAME names (Failure when it is not one). */
async function rawSegment(dir: string, given: string): Promise<Segment> {
  const { rel } = resolveName(dir, given);
  const seg = await inspectSegment(rel, { dirs: [dir], holders: false });
  if (!seg || seg.deleted) throw new Failure(`${rel}: no such segment${seg?.deleted ? ' (deleted: only its holders can still read it)' : ''}`, 'ENOENT');
  if (seg.format !== 'raw') throw new Failure(`${rel} is ${seg.format}: its layout is known (only raw segments are interpreted)`, 'FORMAT');
  return seg;
}

/** The raw System V segment a `sysv:` NAME names (Failure when there is none, it cannot be read, or it is not raw). */
async function rawSysvSegment(given: string): Promise<SysvSegment> {
  const s = await lookupSysv(given).catch((e: unknown) => Promise.reject(e instanceof UsageError ? e : failureOf(e)));
  if (!s) throw new Failure(`${given}: no such System V segment`, 'ENOENT');
  // Not attachable (another user's, too large): say why rather than propose layouts of bytes it cannot read.
  if (isReadFailure(s.errorCode)) throw failureOf(new ShmError(s.error ?? '', s.errorCode!), s.name);
  if (s.format !== 'raw') throw new Failure(`${s.name} is ${s.format}: its layout is known (only raw segments are interpreted)`, 'FORMAT');
  return s;
}

export const INTERPRET_COMMANDS: Command[] = [
  {
    name: 'interpret',
    synopsis: 'interpret NAME [--dtype D --shape A,B[,...] [--offset N] [--order C|F] | --clear] [--dir D] [--json]',
    summary:
      'gives a raw segment a layout that list, inspect, stats, render, persist and attach then use (kept in ~/.config/shm-inspector/interpretations.json); --clear forgets it; without a layout, prints the stored one and likely layouts from its size and bytes',
    options: {
      dtype: { type: 'string' },
      shape: { type: 'string' },
      offset: { type: 'string' },
      order: { type: 'string' },
      clear: { type: 'boolean' },
    },
    positionals: [1, 1],
    async run(ctx) {
      const v = ctx.values;
      const flags = parseSelectionFlags({ dtype: v.dtype, shape: v.shape, offset: v.offset, order: v.order });
      const clear = v.clear === true;
      if (clear && flags.raw) throw new UsageError('give a layout or --clear, not both');
      // sysv:SHMID, sysv:NS/SHMID: a System V segment (its layout kept under its shmid and creation: core/sysv-interpret.ts).
      const sysv = ctx.positionals[0].startsWith('sysv:') ? await rawSysvSegment(ctx.positionals[0]) : null;
      const seg = sysv ? (sysv as unknown as Segment) : await rawSegment(ctx.dir, ctx.positionals[0]);
      const name = seg.name;
      try {
        if (clear) {
          const cleared = sysv ? await forgetSysvInterpretation(sysv) : await removeInterpretation(await identityOf(ctx.dir, name));
          if (ctx.json) ctx.printJson({ name, size: seg.size, interpretation: null, cleared });
          else ctx.print(cleared ? `${name}: interpretation cleared (raw bytes again)` : `${name}: had no interpretation`);
          return 0;
        }
        if (flags.raw) {
          const { interpretation, leftoverBytes: left } = sysv ? await interpretSysv(sysv, flags.raw) : await interpretSegment(ctx.dir, name, flags.raw);
          if (ctx.json) {
            ctx.printJson({ name, size: seg.size, interpretation, leftoverBytes: left });
          } else {
            ctx.print(`${name}: interpreted as ${layoutWords(interpretation)}`);
            const words = leftoverWords(seg.size, interpretation);
            if (words) ctx.note(`${name}: the layout ${words}`);
          }
          return 0;
        }
      } catch (e) {
        if (e instanceof InterpretationError) throw failureOf(e);
        throw e;
      }
      // No layout given: what is stored, and what the size and the bytes suggest.
      const stored = storedInterpretation(seg);
      const proposals = sysv ? await proposeForSysv(sysv, 10) : await proposeForFile(fsPath(seg.path), seg.size, 10);
      if (ctx.json) {
        ctx.printJson({
          name,
          size: seg.size,
          interpretation: stored,
          leftoverBytes: stored ? leftoverBytes(seg.size, stored) : null,
          error: stored ? seg.error : null,
          proposals: proposals.map((p) => ({ dtype: p.dtype, shape: p.shape, offset: p.offset, order: p.order, leftoverBytes: p.trailingBytes, reason: p.reason })),
        });
        return 0;
      }
      ctx.print(`${name}: raw, ${formatBytes(seg.size)} (${seg.size} bytes)`);
      if (stored) {
        const words = leftoverWords(seg.size, stored);
        ctx.print(`interpreted as ${layoutWords(stored)}${seg.error ? ` (${seg.error})` : words ? `; it ${words}` : ''}`);
      } else {
        ctx.print('no interpretation');
      }
      if (proposals.length > 0) {
        ctx.print('\nlikely layouts (set one with --dtype D --shape A,B [--offset N]):');
        ctx.print(
          table(
            [
              ['DTYPE', 'SHAPE', 'OFFSET', 'LEFT OVER', 'WHY'],
              ...proposals.map((p) => [p.dtype, p.shape.join(','), String(p.offset), String(p.trailingBytes), p.reason]),
            ],
            new Set([2, 3]),
          ),
        );
      }
      return 0;
    },
  },
];
