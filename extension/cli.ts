/**
 * `shm-inspector`: the extension's core as a command line (shared/cli-contract.md).
 * Exit codes: 0 success, 1 failure (one-line reason on stderr), 2 usage error.
 *
 * Each subcommand is one entry of COMMANDS: its own options (on top of the common
 * `--dir D`, `--json`, `--help`), how many positionals it takes, and `run`, which
 * returns the exit code or throws a Failure (1) or a UsageError (2).
 * To add a command, add an entry; parsing, help and errors come with it.
 */
import { parseArgs, type ParseArgsConfig } from 'util';
import { DEFAULT_DIR, inspectSegment, listCatalog, resolveName, UsageError } from './core/catalog';
import { dtypeWords } from './core/dtype';
import { formatBytes, shapeWords } from './core/format-words';
import type { Catalog, Segment } from './core/types';

/** A command that failed (exit 1); the message is the one-line reason. */
export class Failure extends Error {}

type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

export interface CommandContext {
  /** The directory (`--dir`, default /dev/shm). */
  dir: string;
  json: boolean;
  /** Every parsed option, common ones included. */
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
  /** Writes the one JSON document of a `--json` run. */
  printJson(doc: unknown): void;
  /** Writes human-readable text (a newline is added). */
  print(text: string): void;
}

export interface Command {
  name: string;
  /** `inspect NAME [--dir D] [--json]` */
  synopsis: string;
  summary: string;
  /** Options of this command, beyond --dir, --json and --help. */
  options?: OptionSpecs;
  /** Accepted number of positionals [min, max]. */
  positionals: [number, number];
  run(ctx: CommandContext): Promise<number>;
}

const COMMON_OPTIONS: OptionSpecs = {
  dir: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

// ---- human-readable output ----------------------------------------------

/** Aligned columns; `right` lists the columns aligned to the right (numbers). */
export function table(rows: string[][], right: Set<number> = new Set()): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) => r.map((c, i) => (right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd())
    .join('\n');
}

function flatten(segs: Segment[], depth = 0): { s: Segment; depth: number }[] {
  const out: { s: Segment; depth: number }[] = [];
  for (const s of segs) {
    out.push({ s, depth });
    if (s.children) out.push(...flatten(s.children, depth + 1));
  }
  return out;
}

function holdersText(s: Segment): string {
  if (s.format === 'tensor' || s.format === 'column') return '';
  if (s.holders.length > 0) return s.holders.map((h) => `${h.comm}(${h.pid})`).join(',');
  if (s.format === 'symlink') return '';
  return s.orphan === true ? 'orphan' : s.orphan === null ? '?' : '';
}

function noteText(s: Segment): string {
  const notes: string[] = [];
  if (s.deleted) notes.push('deleted, still held');
  if (s.symlinkTarget !== null) notes.push(`-> ${s.symlinkTarget}`);
  if (s.details && 'interpretation' in s.details) notes.push('interpreted');
  if (s.error) notes.push(s.error);
  return notes.join('; ');
}

function segmentRows(segs: Segment[]): string[][] {
  const rows = [['NAME', 'SIZE', 'RAM', 'FORMAT', 'DTYPE', 'SHAPE', 'HOLDERS', 'NOTE']];
  for (const { s, depth } of flatten(segs)) {
    const part = s.format === 'tensor' || s.format === 'column';
    const name = '  '.repeat(depth) + (depth > 0 ? s.name.slice(s.name.lastIndexOf('/') + 1) : s.name);
    rows.push([
      name,
      formatBytes(s.size),
      part ? '' : formatBytes(s.allocatedBytes),
      s.format,
      dtypeWords(s.dtype),
      shapeWords(s.shape),
      holdersText(s),
      noteText(s),
    ]);
  }
  return rows;
}

function catalogText(cat: Catalog): string {
  const lines: string[] = [];
  for (const d of cat.directories) {
    lines.push(`${d.path}: ${formatBytes(d.used)} used of ${formatBytes(d.size)}, ${formatBytes(d.free)} free`);
  }
  if (cat.shmem !== null) lines.push(`shared memory in RAM (Shmem): ${formatBytes(cat.shmem)}`);
  if (cat.invisibleProcesses > 0) {
    lines.push(`${cat.invisibleProcesses} process${cat.invisibleProcesses === 1 ? '' : 'es'} could not be inspected; '?' marks segments that may be held by one`);
  }
  lines.push('');
  lines.push(cat.segments.length === 0 ? '(no segments)' : table(segmentRows(cat.segments), new Set([1, 2])));
  return lines.join('\n');
}

function segmentText(s: Segment): string {
  const rows: string[][] = [];
  const add = (k: string, v: string) => rows.push([k, v]);
  add('name', s.name);
  add('path', s.path + (s.deleted ? ' (deleted, still held)' : ''));
  add('format', s.format + (s.producer ? ` (made by ${s.producer})` : ''));
  if (s.dtype !== null) add('dtype', `${dtypeWords(s.dtype)} (${s.dtype})`);
  if (s.shape !== null) add('shape', `${shapeWords(s.shape)}${s.fortranOrder === null ? '' : s.fortranOrder ? ', Fortran order' : ', C order'}`);
  if (s.dataOffset !== null) add('data offset', String(s.dataOffset));
  if (s.details && 'interpretation' in s.details) add('interpreted', 'yes (user-given dtype/shape)');
  add('size', `${formatBytes(s.size)} (${s.size} bytes)`);
  if (s.format !== 'tensor' && s.format !== 'column') add('in RAM', formatBytes(s.allocatedBytes));
  if (s.mtimeMs > 0) add('modified', new Date(s.mtimeMs).toISOString());
  if (s.uid >= 0) add('owner', `uid ${s.uid}, mode ${s.mode.toString(8).padStart(4, '0')}`);
  add('dev:ino', `${s.dev}:${s.ino}`);
  if (s.symlinkTarget !== null) add('link to', `${s.symlinkTarget} (not followed)`);
  if (s.format !== 'symlink' && s.format !== 'tensor' && s.format !== 'column') {
    add('holders', s.holders.length > 0 ? s.holders.map((h) => `${h.comm} (pid ${h.pid}, ${h.via})`).join(', ') : s.orphan === null ? 'none visible (some processes could not be inspected)' : 'none (orphan)');
  }
  if (s.error) add('error', s.error);
  let text = table(rows);
  if (s.children && s.children.length > 0) text += '\n\n' + table(segmentRows(s.children), new Set([1, 2]));
  return text;
}

// ---- commands -------------------------------------------------------------

export const COMMANDS: Command[] = [
  {
    name: 'list',
    synopsis: 'list [--dir D] [--json]',
    summary: 'every segment, decoded, with the processes that hold it',
    positionals: [0, 0],
    async run(ctx) {
      const cat = await listCatalog({ dirs: [ctx.dir] });
      if (ctx.json) ctx.printJson(cat);
      else ctx.print(catalogText(cat));
      return 0;
    },
  },
  {
    name: 'inspect',
    synopsis: 'inspect NAME [--dir D] [--json]',
    summary: 'one segment (a live one before a deleted one of the same name)',
    positionals: [1, 1],
    async run(ctx) {
      const { rel } = resolveName(ctx.dir, ctx.positionals[0]);
      const seg = await inspectSegment(rel, { dirs: [ctx.dir] });
      if (!seg) throw new Failure(`${rel}: no such segment`);
      if (ctx.json) ctx.printJson(seg);
      else ctx.print(segmentText(seg));
      return 0;
    },
  },
];

export function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.synopsis.length));
  return [
    'usage: shm-inspector <command> [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.synopsis.padEnd(width)}  ${c.summary}`),
    '',
    `--dir D   the directory (default ${DEFAULT_DIR}); NAME is relative to it, a leading / is accepted`,
    '--json    print one JSON document on stdout',
    '',
    'exit codes: 0 success, 1 failure, 2 usage error',
  ].join('\n');
}

/** Runs one command line; returns the exit code. Output goes through `io`. */
export async function run(argv: string[], io: { out: (s: string) => void; err: (s: string) => void }): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.err(usage() + '\n');
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    io.out(usage() + '\n');
    return 0;
  }
  try {
    const cmd = COMMANDS.find((c) => c.name === name);
    if (!cmd) throw new UsageError(`unknown command '${name}'`);
    let parsed: ReturnType<typeof parseArgs>;
    try {
      parsed = parseArgs({ args: rest, allowPositionals: true, strict: true, options: { ...COMMON_OPTIONS, ...(cmd.options ?? {}) } });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const values = parsed.values as CommandContext['values'];
    if (values.help) {
      io.out(`usage: shm-inspector ${cmd.synopsis}\n\n${cmd.summary}\n`);
      return 0;
    }
    const dirs = (values.dir as string[] | undefined) ?? [];
    if (dirs.length > 1) throw new UsageError('--dir is given more than once (one directory per command)');
    if (dirs.length === 1 && dirs[0] === '') throw new UsageError('--dir needs a directory');
    const [min, max] = cmd.positionals;
    const pos = parsed.positionals;
    if (pos.length < min || pos.length > max) {
      throw new UsageError(
        max === 0 ? `${cmd.name} takes no NAME (got '${pos[0]}')` : `${cmd.name} takes ${min === max ? `exactly ${min}` : `${min} to ${max}`} NAME${max > 1 ? 's' : ''}`,
      );
    }
    let printed = false;
    const json = values.json === true;
    const ctx: CommandContext = {
      dir: dirs[0] ?? DEFAULT_DIR,
      json,
      values,
      positionals: pos,
      printJson(doc) {
        if (printed) throw new Error('internal: a second JSON document');
        printed = true;
        io.out(JSON.stringify(doc) + '\n');
      },
      print(text) {
        io.out(text + '\n');
      },
    };
    return await cmd.run(ctx);
  } catch (e) {
    // Exactly one line on stderr.
    const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    if (e instanceof UsageError) {
      io.err(`shm-inspector: ${msg} (see 'shm-inspector --help')\n`);
      return 2;
    }
    io.err(`shm-inspector: ${msg}\n`);
    return 1;
  }
}

function writeOut(s: string): void {
  process.stdout.write(s);
}

if (require.main === module) {
  // `shm-inspector list | head`: a closed pipe ends the output quietly.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  run(process.argv.slice(2), { out: writeOut, err: (s) => process.stderr.write(s) }).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`shm-inspector: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
