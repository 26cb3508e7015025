/** What every shm-inspector subcommand shares: the Command shape, failures, tables. */
import type { ParseArgsConfig } from 'util';
import { displayText } from '../core/names';
import { errorCode, errorMessage, ShmError, type ErrorCode } from '../core/errors';
import { formatNumber } from '../core/numbers';
import type { StatsResult } from '../../contract/stats';

/** A command that failed (exit 1); the message is the one-line reason, the code what kind of failure (never USAGE). */
export class Failure extends ShmError {
  constructor(message: string, code: Exclude<ErrorCode, 'USAGE'> = 'FAILED', options?: ErrorOptions) {
    super(message, code, options);
  }
}

/** A Failure for an error caught while working on `what` (a name): its message and its code (USAGE, here a failure, is FAILED). */
export function failureOf(e: unknown, what?: string): Failure {
  const code = errorCode(e);
  const text = errorMessage(e);
  // The addon's messages about a System V segment already begin with its name.
  const named = what === undefined || text.startsWith(`${what}: `) ? text : `${what}: ${text}`;
  return new Failure(named, code === 'USAGE' ? 'FAILED' : code, { cause: e });
}

/** The exit code of a failed command (docs/cli.md): 2 for a usage error (code USAGE), 1 for any other. */
export function exitCodeOf(e: unknown): 1 | 2 {
  return errorCode(e) === 'USAGE' ? 2 : 1;
}

export type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

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
  /** Writes data as it is (`head --csv`): no escaping, no newline added. */
  write(text: string): void;
  /** A note on stderr (`shm-inspector: note: ...`): what the user should know, with or without --json. */
  note(text: string): void;
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

export const COMMON_OPTIONS: OptionSpecs = {
  dir: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/**
 * Aligned columns; `right` lists the columns aligned to the right (numbers). Every cell is
 * display-escaped (core/names.ts): a newline or an escape sequence in a cell (a process name, a
 * tensor name, an error) can neither add a row nor reach the terminal.
 */
export function table(cells: string[][], right: Set<number> = new Set()): string {
  const rows = cells.map((r) => r.map(displayText));
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The `stats --json` document (docs/cli.md) of a stats pass; a table column's adds its null rows. */
export function statsDoc(st: StatsResult, nullCount?: number) {
  const doc = {
    count: st.count,
    finiteCount: st.finiteCount,
    min: st.min,
    max: st.max,
    mean: st.mean,
    std: st.std,
    nanCount: st.nanCount,
    infCount: st.infCount,
  };
  return nullCount === undefined ? doc : { ...doc, nullCount };
}

/** The `stats` table for people: the counts (a table column's null rows after count), then the values to 9 digits. */
export function statsTable(st: StatsResult, nullCount?: number): string {
  const num = (x: number | null) => formatNumber(x, 9);
  return table([
    ['count', String(st.count)],
    ...(nullCount === undefined ? [] : [['null', String(nullCount)]]),
    ['finite', String(st.finiteCount)],
    ['NaN', String(st.nanCount)],
    ['Inf', `${st.infCount}${st.infCount ? ` (+Inf ${st.posInfCount}, -Inf ${st.negInfCount})` : ''}`],
    ['min', num(st.min)],
    ['max', num(st.max)],
    ['mean', num(st.mean)],
    ['std', num(st.std)],
  ]);
}
