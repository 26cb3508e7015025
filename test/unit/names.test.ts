/**
 * Names as bytes and no control character in human output (issue #11 items 10 and 11;
 * docs/cli.md, "Names"): the spelling in core/names.ts, and the built CLI (dist/cli.js) on real
 * files with hostile and non-UTF-8 names that Python makes from bytes paths in a private
 * directory (never in the shared /dev/shm).
 */
import * as assert from 'assert';
import { spawn, type ChildProcess } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { listCatalog } from '../../extension/core/catalog';
import { displayLines, displayText, entryName, escapeBytes, escapeText, fsPath, unescapeName } from '../../extension/core/names';
import type { Catalog, Segment } from '../../extension/core/types';
import { holderLabel, segmentLabel } from '../../extension/sidebar/nodes';
import { CLI, runCli, type Run } from '../fixtures/cli';
import { PYTHON, pyCode, untilReady } from '../fixtures/segments';

/** Raw names of the directory, as bytes (hex), through a Buffer readdir. */
function rawNames(dir: string): string[] {
  return fs
    .readdirSync(dir, { encoding: 'buffer' })
    .map((b) => b.toString('hex'))
    .sort();
}

/** Runs Python with `dir` as sys.argv[1] (bytes: os.fsencode). */
function python(code: string, dir: string): string {
  return pyCode(`import os, sys\nimport numpy as np\nd = os.fsencode(sys.argv[1])\n${code}`, [dir]);
}

const hex = (s: string) => Buffer.from(s, 'latin1').toString('hex');
/** Any byte a terminal acts on: C0 but newline, DEL, and ESC-introduced or 8-bit CSI sequences. */
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f\x80-\x9f\u202a-\u202e\u2066-\u2069]/;

describe('names: the spelling (core/names.ts)', () => {
  it('escapes bytes that are not UTF-8 or not printable as \\xHH and a backslash as \\\\; printable UTF-8 stays', () => {
    assert.strictEqual(escapeBytes(Buffer.from('caf\xe9', 'latin1')), 'caf\\xe9');
    assert.strictEqual(escapeBytes(Buffer.from('café', 'utf8')), 'café');
    assert.strictEqual(escapeBytes(Buffer.from('a\x1b[31mb\nc\x7f', 'latin1')), 'a\\x1b[31mb\\x0ac\\x7f');
    assert.strictEqual(escapeText('back\\slash'), 'back\\\\slash');
    // C1 (U+009B is an 8-bit CSI), bidi override, zero-width space, line separator: their UTF-8 bytes.
    assert.strictEqual(escapeText('a\u009bb'), 'a\\xc2\\x9bb');
    assert.strictEqual(escapeText('evil\u202egnp.exe'), 'evil\\xe2\\x80\\xaegnp.exe');
    assert.strictEqual(escapeText('a\u200bb\u2028'), 'a\\xe2\\x80\\x8bb\\xe2\\x80\\xa8');
    // Overlong forms, surrogates and truncated sequences are not UTF-8.
    assert.strictEqual(escapeBytes(Buffer.from([0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xe2, 0x82])), '\\xc0\\xaf\\xed\\xa0\\x80\\xe2\\x82');
    assert.strictEqual(entryName('sysv:12'), './sysv:12');
    assert.strictEqual(entryName('psm_1'), 'psm_1');
  });

  it('is one-to-one: 3000 random byte names come back byte for byte, and no two share a spelling', () => {
    const seen = new Map<string, string>();
    for (let i = 0; i < 3000; i++) {
      const raw = crypto.randomBytes(1 + (i % 12)).filter((b) => b !== 0 && b !== 0x2f);
      // Bias towards backslashes, 'x' and hex digits: the characters an ambiguous spelling would need.
      const b = Buffer.from(raw.map((x, k) => (k % 3 === 0 ? [0x5c, 0x78, 0x65, 0x39][x & 3] : x)));
      const s = escapeBytes(b);
      assert.ok(!CONTROL.test(s), `no control character in ${JSON.stringify(s)}`);
      assert.deepStrictEqual(unescapeName(s), b, `round trip of ${b.toString('hex')}`);
      const other = seen.get(s);
      assert.ok(other === undefined || other === b.toString('hex'), `${s} spells both ${other} and ${b.toString('hex')}`);
      seen.set(s, b.toString('hex'));
    }
  });

  it('reads a plain UTF-8 name as itself (a backslash that starts no escape too); fsPath gives a Buffer only for non-UTF-8 bytes', () => {
    assert.deepStrictEqual(unescapeName('café'), Buffer.from('café'));
    assert.deepStrictEqual(unescapeName('a\\b'), Buffer.from('a\\b'));
    assert.deepStrictEqual(unescapeName('a\\XE9'), Buffer.from([0x61, 0xe9]));
    assert.strictEqual(fsPath('/dev/shm/psm_1'), '/dev/shm/psm_1');
    assert.strictEqual(fsPath('/tmp/a\\\\b\\x1b'), '/tmp/a\\b\x1b');
    assert.deepStrictEqual(fsPath('/tmp/caf\\xe9'), Buffer.from('/tmp/caf\xe9', 'latin1'));
  });

  it('display escaping: control characters of any text become \\xHH; backslashes and newlines between lines stay', () => {
    assert.strictEqual(displayText('x\x1b]0;pwned\x07y'), 'x\\x1b]0;pwned\\x07y');
    assert.strictEqual(displayText('caf\\xe9'), 'caf\\xe9');
    assert.strictEqual(displayText('a\nb'), 'a\\x0ab');
    assert.strictEqual(displayLines('a\x1b\nb\u202e'), 'a\\x1b\nb\\xe2\\x80\\xae');
  });

  it("the tree's labels: a segment's last name part and a holder's process name are escaped", () => {
    const seg = { name: 'folder/t\x1b[2Jx\n', comm: '' } as unknown as Segment;
    assert.strictEqual(segmentLabel(seg), 't\\x1b[2Jx\\x0a');
    assert.strictEqual(holderLabel({ pid: 1, comm: 'evil\x1b[31m\u202e', via: 'map' }), 'evil\\x1b[31m\\xe2\\x80\\xae');
  });
});

describe('names: hostile and non-UTF-8 names through the CLI', function () {
  this.timeout(120_000);
  let dir: string;
  let configDir: string;
  const procs: ChildProcess[] = [];
  const cli = (args: string[]): Promise<Run> => runCli(args, { env: { SHM_INSPECTOR_CONFIG_DIR: configDir } });
  const json = <T>(r: Run): T => {
    assert.strictEqual(r.stderr, '', 'nothing on stderr');
    assert.strictEqual(r.code, 0, 'exit 0');
    return JSON.parse(r.stdout) as T;
  };

  before(() => {
    assert.ok(fs.existsSync(CLI), `${CLI} is built`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-names-'));
    configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-names-config-'));
  });
  after(() => {
    for (const p of procs) p.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(configDir, { recursive: true, force: true });
  });
  beforeEach(() => {
    for (const n of fs.readdirSync(dir, { encoding: 'buffer' })) fs.rmSync(Buffer.concat([Buffer.from(dir + '/'), n]), { recursive: true });
  });

  it('a name with ESC sequences and one with a newline reach neither the terminal raw nor add a row to list', async () => {
    python(
      "for n in [b'esc\\x1b[31mRED\\x1b[0m\\x1b]0;title\\x07', b'two\\nfake_row 1.0 KiB', b'ok']:\n" +
        "    np.save(open(d + b'/' + n, 'wb'), np.arange(4, dtype='<f4'))",
      dir,
    );
    const r = await cli(['list', '--dir', dir]);
    assert.strictEqual(r.code, 0, r.stderr);
    assert.ok(!CONTROL.test(r.stdout), `no control character on stdout: ${JSON.stringify(r.stdout)}`);
    const lines = r.stdout.trimEnd().split('\n');
    const rows = lines.slice(lines.findIndex((l) => l.startsWith('NAME')) + 1);
    assert.deepStrictEqual(
      rows.map((l) => l.split(/\s{2,}/)[0]),
      ['esc\\x1b[31mRED\\x1b[0m\\x1b]0;title\\x07', 'ok', 'two\\x0afake_row 1.0 KiB'].sort(),
      'exactly three rows, each name escaped',
    );
    const cat = json<Catalog>(await cli(['list', '--json', '--dir', dir]));
    const two = cat.segments.find((s) => s.name.startsWith('two'))!;
    assert.strictEqual(two.name, 'two\\x0afake_row 1.0 KiB');
    assert.strictEqual(two.nameBytes, hex('two\nfake_row 1.0 KiB'));
    assert.strictEqual(two.path, `${dir}/two\\x0afake_row 1.0 KiB`);
    assert.strictEqual(cat.segments.find((s) => s.name === 'ok')!.nameBytes, undefined, 'no nameBytes for a plain name');
    // An error naming a hostile NAME: one line on stderr, escaped.
    const e = await cli(['inspect', 'nope\x1b[2J\nx', '--dir', dir]);
    assert.strictEqual(e.code, 1);
    assert.strictEqual(e.stderr, 'shm-inspector: nope\\x1b[2J\\x0ax: no such segment\n');
    // The escaped spelling addresses the file.
    const seg = json<Segment>(await cli(['inspect', 'esc\\x1b[31mRED\\x1b[0m\\x1b]0;title\\x07', '--dir', dir, '--json']));
    assert.deepStrictEqual([seg.format, seg.shape], ['npy', [4]]);
    const human = await cli(['inspect', 'two\\x0afake_row 1.0 KiB', '--dir', dir]);
    assert.ok(!CONTROL.test(human.stdout) && /^name\s+two\\x0afake_row 1\.0 KiB$/m.test(human.stdout), human.stdout);
  });

  it('a process name with an escape sequence is escaped in list and inspect', async () => {
    python("np.save(open(d + b'/held.npy', 'wb'), np.zeros(8))", dir);
    const child = spawn(
      PYTHON,
      [
        '-c',
        "import mmap,sys\nopen('/proc/self/comm','w').write('ev\\x1b[31m\\x9b2J')\nf=open(sys.argv[1],'rb')\nm=mmap.mmap(f.fileno(),0,prot=mmap.PROT_READ)\nprint('ready',flush=True)\nsys.stdin.read()",
        `${dir}/held.npy`,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    procs.push(child);
    await untilReady(child);
    for (const args of [['list'], ['inspect', 'held.npy']]) {
      const r = await cli([...args, '--dir', dir]);
      assert.strictEqual(r.code, 0, r.stderr);
      assert.ok(!CONTROL.test(r.stdout), JSON.stringify(r.stdout));
      assert.match(r.stdout, new RegExp(`ev\\\\x1b\\[31m\\\\xc2\\\\x9b2J ?\\((pid )?${child.pid}`));
    }
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
  });

  it("a Latin-1 name (b'caf\\xe9') is listed, inspected, read, persisted, unlinked and cleared by its escaped name", async () => {
    python("for n in [b'caf\\xe9.npy', b'caf\\xe9_2', b'keep']:\n    np.save(open(d + b'/' + n, 'wb'), np.arange(12, dtype='<i4').reshape(3, 4))", dir);
    const cat = json<Catalog>(await cli(['list', '--json', '--dir', dir]));
    assert.deepStrictEqual(
      cat.segments.map((s) => s.name),
      ['caf\\xe9.npy', 'caf\\xe9_2', 'keep'],
    );
    assert.strictEqual(cat.segments[0].nameBytes, hex('caf\xe9.npy'));
    const seg = json<Segment>(await cli(['inspect', 'caf\\xe9.npy', '--dir', dir, '--json']));
    assert.deepStrictEqual([seg.name, seg.format, seg.dtype, seg.shape], ['caf\\xe9.npy', 'npy', '<i4', [3, 4]]);
    const stats = json<{ count: number; max: number }>(await cli(['stats', 'caf\\xe9.npy', '--dir', dir, '--json']));
    assert.deepStrictEqual([stats.count, stats.max], [12, 11]);

    // attach prints Python that opens the exact bytes (os's surrogateescape spelling).
    const attach = await cli(['attach', 'caf\\xe9.npy', '--dir', dir]);
    assert.strictEqual(attach.code, 0, attach.stderr);
    assert.strictEqual(pyCode(`${attach.stdout}\nprint(int(arr.sum()))`).trim(), '66');

    const out = path.join(configDir, 'snap.npy');
    json(await cli(['persist', 'caf\\xe9.npy', '--to', out, '--dir', dir, '--json']));
    assert.strictEqual(pyCode('import numpy as np,sys; print(np.load(sys.argv[1]).sum())', [out]).trim(), '66');

    const u = json<{ outcomes: { name: string; status: string }[] }>(await cli(['unlink', 'caf\\xe9.npy', '--dir', dir, '--json']));
    assert.deepStrictEqual(
      u.outcomes.map((o) => [o.name, o.status]),
      [['caf\\xe9.npy', 'removed']],
    );
    assert.deepStrictEqual(rawNames(dir), [hex('caf\xe9_2'), hex('keep')].sort());

    const plan = await cli(['clear', '--glob', 'caf\\xe9*', '--dir', dir]);
    assert.strictEqual(plan.code, 0);
    assert.match(plan.stdout, /^ {2}caf\\xe9_2$/m);
    const c = json<{ removed: string[]; skipped: unknown[] }>(await cli(['clear', '--glob', 'caf\\xe9*', '--yes', '--dir', dir, '--json']));
    assert.deepStrictEqual([c.removed, c.skipped], [['caf\\xe9_2'], []]);
    assert.deepStrictEqual(rawNames(dir), [hex('keep')]);
  });

  it('two names that differ only in bytes that are not UTF-8 stay two rows, each removable on its own', async () => {
    python("for n in [b'x\\xff', b'x\\xfe', b'x\\\\xff']:\n    open(d + b'/' + n, 'wb').write(b'1234')", dir);
    const cat = json<Catalog>(await cli(['list', '--json', '--dir', dir]));
    assert.deepStrictEqual(
      cat.segments.map((s) => [s.name, s.nameBytes]),
      [
        ['x\\\\xff', hex('x\\xff')],
        ['x\\xfe', hex('x\xfe')],
        ['x\\xff', hex('x\xff')],
      ],
    );
    const human = await cli(['list', '--dir', dir]);
    assert.strictEqual(human.stdout.split('\n').filter((l) => l.startsWith('x\\')).length, 3, human.stdout);
    json(await cli(['unlink', 'x\\xff', '--dir', dir, '--json']));
    assert.deepStrictEqual(rawNames(dir), [hex('x\xfe'), hex('x\\xff')].sort());
  });

  it('a tensor named with an escape sequence and a newline: escaped in list, selected by its spelling', async () => {
    python(
      "import json\nh = json.dumps({'w\\x1b[31m\\nx': {'dtype': 'F32', 'shape': [2], 'data_offsets': [0, 8]}, 'ok': {'dtype': 'F32', 'shape': [2], 'data_offsets': [8, 16]}}).encode()\n" +
        "h += b' ' * (-len(h) % 8)\nopen(d + b'/m.safetensors', 'wb').write(len(h).to_bytes(8, 'little') + h + np.array([1, 2, 3, 4], '<f4').tobytes())",
      dir,
    );
    const r = await cli(['list', '--dir', dir]);
    assert.ok(!CONTROL.test(r.stdout), JSON.stringify(r.stdout));
    assert.match(r.stdout, /^ {2}w\\x1b\[31m\\x0ax +8 B/m);
    const cat = json<Catalog>(await cli(['list', '--json', '--dir', dir]));
    assert.deepStrictEqual(
      cat.segments[0].children!.map((c) => [c.name, c.nameBytes]),
      [
        ['m.safetensors/w\\x1b[31m\\x0ax', hex('m.safetensors/w\x1b[31m\nx')],
        ['m.safetensors/ok', undefined],
      ],
    );
    for (const t of ['w\\x1b[31m\\x0ax', 'w\x1b[31m\nx']) {
      const st = json<{ max: number }>(await cli(['stats', 'm.safetensors', '--tensor', t, '--dir', dir, '--json']));
      assert.strictEqual(st.max, 2);
    }
  });

  it('a deleted segment whose name is not UTF-8 keeps its bytes: listed once by its spelling, persisted through its holder', async () => {
    const child = spawn(
      PYTHON,
      [
        '-c',
        "import mmap,os,sys\nimport numpy as np\np = os.fsencode(sys.argv[1]) + b'/d\\xe9l\\xff'\nnp.save(open(p, 'wb'), np.arange(5.0))\nf=open(p,'rb')\nm=mmap.mmap(f.fileno(),0,prot=mmap.PROT_READ)\nos.unlink(p)\nprint('ready',flush=True)\nsys.stdin.read()",
        dir,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    procs.push(child);
    await untilReady(child);
    const cat = json<Catalog>(await cli(['list', '--json', '--dir', dir]));
    const del = cat.segments.filter((s) => s.deleted);
    assert.deepStrictEqual(
      del.map((s) => [s.name, s.nameBytes, s.path, s.format]),
      [['d\\xe9l\\xff', hex('d\xe9l\xff'), `${dir}/d\\xe9l\\xff`, 'npy']],
    );
    const out = path.join(configDir, 'del.npy');
    json(await cli(['persist', 'd\\xe9l\\xff', '--pid', String(child.pid), '--to', out, '--dir', dir, '--json']));
    assert.strictEqual(pyCode('import numpy as np,sys; print(np.load(sys.argv[1]).sum())', [out]).trim(), '10.0');
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
  });

  it('an entry named like another kind (sysv:, memfd:, anon:, ns:) is written ./NAME, and is addressed and removed so', async () => {
    python("np.save(open(d + b'/sysv:7.npy', 'wb'), np.ones(3))\nos.mkdir(d + b'/anon:x')\nnp.save(open(d + b'/anon:x/a.npy', 'wb'), np.ones(2))", dir);
    const cat = json<Catalog>(await cli(['list', '--json', '--dir', dir]));
    assert.deepStrictEqual(
      cat.segments.map((s) => [s.name, s.path, s.nameBytes]),
      [
        ['./anon:x', `${dir}/anon:x`, undefined],
        ['./sysv:7.npy', `${dir}/sysv:7.npy`, undefined],
      ],
    );
    assert.strictEqual(cat.segments[0].children![0].name, './anon:x/a.npy');
    assert.deepStrictEqual(json<Segment>(await cli(['inspect', './anon:x/a.npy', '--dir', dir, '--json'])).shape, [2]);
    const u = json<{ outcomes: { name: string; status: string }[] }>(await cli(['unlink', './sysv:7.npy', '--dir', dir, '--json']));
    assert.deepStrictEqual(
      u.outcomes.map((o) => [o.name, o.status]),
      [['./sysv:7.npy', 'removed']],
    );
    assert.deepStrictEqual(rawNames(dir), [hex('anon:x')]);
  });

  it('inside a folder whose name is not UTF-8: the entries are listed and addressed as FOLDER/ENTRY', async () => {
    python("os.mkdir(d + b'/f\\xe9')\nnp.save(open(d + b'/f\\xe9/a\\xff.npy', 'wb'), np.ones(3))", dir);
    const cat = await listCatalog({ dirs: [dir], holders: false });
    const folder = cat.segments.find((s) => s.format === 'directory')!;
    assert.strictEqual(folder.name, 'f\\xe9');
    assert.deepStrictEqual(
      folder.children!.map((c) => [c.name, c.format, c.path]),
      [['f\\xe9/a\\xff.npy', 'npy', `${dir}/f\\xe9/a\\xff.npy`]],
    );
    const seg = json<Segment>(await cli(['inspect', 'f\\xe9/a\\xff.npy', '--dir', dir, '--json']));
    assert.deepStrictEqual(seg.shape, [3]);
  });
});
