/**
 * `shm-inspector`: the extension's core as a command line (docs/cli.md).
 * Exit codes: 0 success, 1 failure (one-line reason on stderr), 2 usage error.
 *
 * Each subcommand is one entry of COMMANDS: its own options (on top of the common
 * `--dir D`, `--json`, `--help`), how many positionals it takes, and `run`, which
 * returns the exit code or throws: a UsageError (code USAGE) is exit 2, any other error exit 1
 * (exitCodeOf, by code).
 * To add a command, add an entry; parsing, help and errors come with it.
 */
import { parseArgs } from 'util';
import { DEFAULT_DIR, UsageError } from './core/catalog';
import { ARRAY_COMMANDS } from './cli/array';
import { CATALOG_COMMANDS } from './cli/catalog';
import { INTERPRET_COMMANDS } from './cli/interpret';
import { MANAGE_COMMANDS } from './cli/manage';
import { PROCESS_COMMANDS } from './cli/processes';
import { TABLE_COMMANDS } from './cli/head';
import { COMMON_OPTIONS, exitCodeOf, type Command, type CommandContext } from './cli/common';
import { displayLines, displayText } from './core/names';

export { Failure, table } from './cli/common';
export type { Command, CommandContext } from './cli/common';

/** Every subcommand; each group lives in its own module under cli/. */
export const COMMANDS: Command[] = [...CATALOG_COMMANDS, ...ARRAY_COMMANDS, ...MANAGE_COMMANDS, ...INTERPRET_COMMANDS, ...PROCESS_COMMANDS, ...TABLE_COMMANDS];

/** Splits text into lines of at most `width` characters, at spaces. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

export function usage(): string {
  return [
    'usage: shm-inspector <command> [options]',
    '',
    'commands:',
    ...COMMANDS.flatMap((c) => [`  ${c.synopsis}`, ...wrap(c.summary, 96).map((l) => `      ${l}`)]),
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
        max === 0
          ? `${cmd.name} takes no NAME (got '${pos[0]}')`
          : `${cmd.name} takes ${min === max ? `exactly ${min}` : `${min} to ${max}`} NAME${max > 1 ? 's' : ''}`,
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
      // Human output never carries a control character but its line breaks (core/names.ts).
      print(text) {
        io.out(displayLines(text) + '\n');
      },
      write(text) {
        io.out(text);
      },
      note(text) {
        io.err(`shm-inspector: note: ${displayText(text)}\n`);
      },
    };
    return await cmd.run(ctx);
  } catch (e) {
    // Exactly one line on stderr, with no control character in it: the whole message, a newline
    // in it (a path's, a link target's) escaped like any control character, never a line break.
    const msg = displayText(e instanceof Error ? e.message : String(e));
    const exit = exitCodeOf(e);
    io.err(exit === 2 ? `shm-inspector: ${msg} (see 'shm-inspector --help')\n` : `shm-inspector: ${msg}\n`);
    return exit;
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
      process.stderr.write(`shm-inspector: ${displayText(e instanceof Error ? e.message : String(e))}\n`);
      process.exitCode = 1;
    },
  );
}
