/**
 * Issue 11 items 6, 7, 9, 12 and issue 12 item 8: bounded, linear-time decoding. Hostile input
 * (a 1 MiB NPY header, a 7-star glob on a 200-character name, a process mapping 60,000 files,
 * Arrow footers whose blocks overlap, a safetensors header with a huge __metadata__ and many hard
 * links, pickles that hold no array) through the core and dist/cli.js. Each case ran for minutes,
 * aborted or said something false before its fix; the guards here (child-process timeouts) are
 * generous ceilings against hanging, not measurements: the figures are in bench/decoders.mjs.
 */
import * as assert from 'assert';
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { filterProblem, nameMatcher } from '../../extension/core/arrange';
import { compileGlob, GlobError, globProblem } from '../../extension/core/glob';
import { CLI } from '../fixtures/cli';
import { SegmentJar } from '../fixtures/segments';

interface Run {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** dist/cli.js ARGS, killed (SIGKILL) after `ceilingMs`: a hang shows as signal SIGKILL. */
function cliWithin(args: string[], ceilingMs = 20_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: ceilingMs, killSignal: 'SIGKILL', maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: unknown; signal?: string | null }) | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, signal: e?.signal ?? null, stdout, stderr });
    });
  });
}

describe('decoders: bounded, linear-time decoding', function () {
  this.timeout(120_000);
  const jar = new SegmentJar();
  let root: string;
  let n = 0;
  const freshDir = () => {
    const d = path.join(root, `d${++n}`);
    fs.mkdirSync(d);
    return d;
  };
  before(() => {
    assert.ok(fs.existsSync(CLI), 'dist/cli.js is built');
    root = jar.name('shmi_bounds').path;
    fs.mkdirSync(root);
  });
  after(() => jar.cleanup());

  describe('glob (clear --glob, the sidebar filter)', () => {
    const g = (p: string, s: string, ignoreCase = false) => compileGlob(p, { ignoreCase }).test(s);

    it('keeps the fnmatch meaning: *, ?, classes, ranges, ] first, negation; no wildcard matches /', () => {
      assert.ok(g('*.shm', 'a.shm') && !g('*.shm', 'a.shmx') && !g('*.shm', 'd/a.shm'));
      assert.ok(g('d/*.pkl', 'd/x.pkl') && !g('*', 'a/b') && !g('a?b', 'a/b') && !g('a[!x]b', 'a/b'));
      assert.ok(g('[a-c]x', 'bx') && !g('[a-c]x', 'dx') && g('[!a-c]x', 'dx'));
      assert.ok(g('[]a]', ']') && g('[]a]', 'a') && g('[a-]', '-') && g('[[]', '['));
      assert.ok(g('*a*b*', 'xxaxxbxx') && !g('*a*b*', 'xxbxxaxx') && g('**', 'anything') && g('*', '') && !g('?', ''));
      assert.ok(g('\u{1F642}?', '\u{1F642}x'), '? is one character, also past the BMP');
      assert.ok(g('PSM_[A-Z]*', 'psm_abc', true) && !g('PSM_*', 'psm_x'));
    });

    it('a malformed class is a GlobError that says what and where; the sidebar filter reports it and still filters', () => {
      for (const [p, why] of [['[z-a]', /z-a runs backwards/], ['psm_[abc', /never closed/], ['[]', /never closed/], ['[!]', /never closed/]] as const) {
        assert.throws(() => compileGlob(p), (e: unknown) => e instanceof GlobError && why.test((e as Error).message) && (e as Error).message.includes(p));
        assert.match(globProblem(p) ?? '', why);
        assert.match(filterProblem(` ${p} `) ?? '', why);
      }
      assert.strictEqual(filterProblem('psm_'), null, 'plain text is no glob');
      assert.strictEqual(filterProblem('[a-c]*'), null);
      // A malformed filter stored before (workspace state) filters as text instead of breaking the tree.
      const m = nameMatcher('x[1');
      assert.ok(m('ax[1b') && !m('ax1b'));
    });

    it('CLI: a 7-star glob against a 200-character name answers at once (it ran for 10 minutes); a bad class exits 2', async () => {
      const d = freshDir();
      const long = 'a'.repeat(200);
      fs.writeFileSync(path.join(d, long), 'x');
      fs.writeFileSync(path.join(d, 'a_b'), 'x');
      const r = await cliWithin(['clear', '--glob', '*a*a*a*a*a*a*b', '--dry-run', '--json', '--dir', d]);
      assert.strictEqual(r.signal, null, 'clear --glob finished (not killed at the ceiling)');
      assert.strictEqual(r.code, 0, r.stderr);
      const plan = JSON.parse(r.stdout) as { removed: string[] };
      assert.deepStrictEqual(plan.removed, [], 'the long name has no b; a_b has too few a');
      const hit = JSON.parse((await cliWithin(['clear', '--glob', '*a*b', '--dry-run', '--json', '--dir', d])).stdout) as { removed: string[] };
      assert.deepStrictEqual(hit.removed, ['a_b']);

      const bad = await cliWithin(['clear', '--glob', 'psm_[z-a]*', '--dry-run', '--dir', d]);
      assert.strictEqual(bad.code, 2, bad.stderr);
      assert.strictEqual(bad.stdout, '');
      assert.match(bad.stderr, /^shm-inspector: bad glob 'psm_\[z-a\]\*': the range z-a runs backwards \(character 6\) \(see 'shm-inspector --help'\)\n$/);
      assert.ok(fs.existsSync(path.join(d, long)) && fs.existsSync(path.join(d, 'a_b')), 'nothing removed');
    });
  });
});
