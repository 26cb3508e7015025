// `npm run bench`: lists the benchmarks (bench/*.mjs) with what each measures; `npm run bench -- NAME [ARGS...]`
// builds (scripts/build.mjs: the benches load dist/ and the transpiled modules in out/) and runs bench/NAME.mjs
// with ARGS. Benches print figures; none is part of npm test, and some are heavy (10,000 segments, 500
// processes, a code-server workbench), so none runs unless named.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const NOT_BENCHES = new Set(['run.mjs', 'common.mjs']);

/** The benches: name, and the first sentence of the comment their file opens with. */
function benches() {
  return readdirSync(HERE)
    .filter((f) => f.endsWith('.mjs') && !NOT_BENCHES.has(f))
    .sort()
    .map((f) => {
      const head = readFileSync(join(HERE, f), 'utf8').split('\n');
      const comment = head
        .slice(
          0,
          head.findIndex((l) => !l.startsWith('//')),
        )
        .map((l) => l.replace(/^\/\/\s?/, ''));
      const text = comment
        .join(' ')
        .replace(/^Benchmark( for [^:.]*)?:\s*/i, '')
        .replace(/\s+/g, ' ');
      const usage = comment.find((l) => /node bench\//.test(l))?.trim() ?? '';
      return { name: f.replace(/\.mjs$/, ''), what: text.split(/(?<=\.)\s/)[0], usage: usage.replace(/^.*?(node bench\/)/, '$1') };
    });
}

const [name, ...args] = process.argv.slice(2);
const all = benches();
if (!name || name === '--list' || name === '--help') {
  console.log('npm run bench -- NAME [ARGS...]   (builds, then runs bench/NAME.mjs)\n');
  for (const b of all) console.log(`${b.name.padEnd(12)} ${b.what}\n${''.padEnd(12)} ${b.usage}`);
  process.exit(0);
}
if (!all.some((b) => b.name === name)) {
  console.error(`bench: no bench named ${name}; there are: ${all.map((b) => b.name).join(', ')}`);
  process.exit(2);
}
const run = (argv) => spawnSync(process.execPath, argv, { cwd: ROOT, stdio: 'inherit' }).status ?? 1;
const built = run([join('scripts', 'build.mjs')]);
if (built !== 0) process.exit(built);
process.exit(run([join('bench', `${name}.mjs`), ...args]));
