/**
 * `shm-inspector`: the extension's core as a command line (shared/cli-contract.md).
 * Exit codes: 0 success, 1 failure (one-line reason on stderr), 2 usage error.
 */
import { parseArgs } from 'util';
import { DEFAULT_DIR, inspectSegment, listCatalog, resolveName, UsageError } from './core/catalog';
import { formatBytes, shapeWords } from './core/format-words';
import { dtypeWords } from './core/dtype';
import type { Segment } from './core/types';

const USAGE = `usage: shm-inspector <command> [options]

commands:
  list [--dir D] [--json]           every segment, decoded, with holders
  inspect NAME [--dir D] [--json]   one segment

NAME is relative to the directory (default ${DEFAULT_DIR}); a leading / is accepted.`;

class Failure extends Error {}

function table(rows: string[][], rightAlign: Set<number>): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) => r.map((c, i) => (rightAlign.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd())
    .join('\n');
}

function flatten(segs: Segment[], depth = 0): { s: Segment; depth: number }[] {
  return segs.flatMap((s) => [
    { s, depth },
    ...(s.format === 'directory' || s.format === 'safetensors' || s.format === 'arrow' ? flatten(s.children ?? [], depth + 1) : []),
  ]);
}

function holdersText(s: Segment): string {
  if (s.format === 'tensor' || s.format === 'column') return '';
  if (s.holders.length > 0) return s.holders.map((h) => `${h.comm}(${h.pid})`).join(',');
  return s.orphan === true ? 'orphan' : s.orphan === null ? '?' : '';
}

function segmentRows(segs: Segment[]): string[][] {
  const rows = [['NAME', 'SIZE', 'RAM', 'FORMAT', 'DTYPE', 'SHAPE', 'HOLDERS', 'NOTE']];
  for (const { s, depth } of flatten(segs)) {
    const name = '  '.repeat(depth) + (depth > 0 ? s.name.slice(s.name.lastIndexOf('/') + 1) : s.name);
    const note = s.deleted ? 'deleted, still mapped' : s.symlinkTarget !== null ? `-> ${s.symlinkTarget}` : s.error ?? '';
    rows.push([
      name,
      formatBytes(s.size),
      s.format === 'tensor' || s.format === 'column' ? '' : formatBytes(s.allocatedBytes),
      s.format,
      dtypeWords(s.dtype),
      shapeWords(s.shape),
      holdersText(s),
      note,
    ]);
  }
  return rows;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { dir: { type: 'string' }, json: { type: 'boolean' } },
  });
  const dir = values.dir ?? DEFAULT_DIR;
  const json = values.json === true;
  switch (command) {
    case 'list': {
      if (positionals.length > 0) throw new UsageError(`list takes no NAME (got ${positionals[0]})`);
      const cat = await listCatalog({ dirs: [dir] });
      if (json) {
        process.stdout.write(JSON.stringify(cat, null, 2) + '\n');
      } else {
        for (const d of cat.directories) {
          console.log(`${d.path}: ${formatBytes(d.used)} used of ${formatBytes(d.size)}, ${formatBytes(d.free)} free`);
        }
        if (cat.invisibleProcesses > 0) console.log(`(${cat.invisibleProcesses} processes could not be inspected)`);
        console.log(cat.segments.length === 0 ? '(no segments)' : table(segmentRows(cat.segments), new Set([1, 2])));
      }
      return 0;
    }
    case 'inspect': {
      if (positionals.length !== 1) throw new UsageError('inspect takes exactly one NAME');
      resolveName(dir, positionals[0]);
      const seg = await inspectSegment(positionals[0], { dirs: [dir] });
      if (!seg) throw new Failure(`${positionals[0].replace(/^\/+/, '')}: no such segment`);
      if (json) process.stdout.write(JSON.stringify(seg, null, 2) + '\n');
      else console.log(table(segmentRows([seg]), new Set([1, 2])));
      return 0;
    }
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    const msg = e instanceof Error ? e.message : String(e);
    const usage = e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`shm-inspector: ${msg}\n`);
    if (usage) process.stderr.write(`run 'shm-inspector --help' for usage\n`);
    process.exitCode = usage ? 2 : 1;
  },
);
