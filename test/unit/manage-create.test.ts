/**
 * Issue 6, create: createSegment and `shm-inspector create` (dist/cli.js as a child process)
 * on real files, checked with Debian's numpy; hostile names, planted symlinks, existing
 * names, a full tmpfs of the test's own (unshare -m), cancellation. Each test snapshots its
 * own directory and checks that exactly the intended entries changed.
 */
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createSegment, npyHeader, validateName } from '../../extension/core/manage';
import { py, SegmentJar } from '../fixtures/segments';
import { CLI, runCli, treeSnapshot as snapshot, type Run } from '../fixtures/cli';

const MANAGE_JS = path.resolve(__dirname, '..', '..', 'extension', 'core', 'manage', 'index.js');

function oneLine(r: Run, code: number, re: RegExp): void {
  assert.strictEqual(r.code, code, `exit ${code}: ${r.stderr}`);
  assert.strictEqual(r.stdout, '');
  assert.strictEqual(r.stderr.split('\n').length, 2, `one line: ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr, re);
}

describe('manage: create', function () {
  this.timeout(120_000);
  const jar = new SegmentJar();
  let dir: string;
  let outside: string;

  before(() => {
    assert.ok(fs.existsSync(CLI), 'dist/cli.js is built');
    dir = jar.name('shmi_mcreate').path;
    fs.mkdirSync(dir);
    outside = jar.name('shmi_mcreate_outside').path;
    fs.mkdirSync(outside);
  });
  after(() => jar.cleanup());

  it('validateName: each rule (empty, /, . and .., NUL, more than 255 bytes) and good names', () => {
    assert.match(validateName('')!, /empty/);
    assert.match(validateName('a/b')!, /'\/'/);
    assert.match(validateName('/a')!, /'\/'/);
    assert.match(validateName('..')!, /invalid/);
    assert.match(validateName('.')!, /invalid/);
    assert.match(validateName('a\0b')!, /NUL/);
    assert.match(validateName('x'.repeat(256))!, /256 bytes/);
    assert.match(validateName('é'.repeat(128))!, /256 bytes/, 'bytes, not characters');
    for (const ok of ['psm_1a2b', 'x'.repeat(255), 'é'.repeat(127), 'a..b', '..a', 'we ird "name\' ü', '-dash']) {
      assert.strictEqual(validateName(ok), null, ok);
    }
  });

  for (const [bad, why] of [
    ['a/b', /may not contain '\/'/],
    ['..', /invalid segment name/],
    ['../../etc/x', /may not contain '\/'/],
    ['x'.repeat(256), /at most 255/],
    ['', /empty/],
  ] as const) {
    it(`CLI create with a bad name ${JSON.stringify(bad.slice(0, 20))}: usage error 2, nothing created`, async () => {
      const before = snapshot(dir);
      oneLine(await runCli(['create', bad, '--dtype', 'f4', '--shape', '2', '--dir', dir]), 2, why);
      assert.deepStrictEqual(snapshot(dir), before);
    });
  }

  it('CLI create: a NUL in NAME is refused by the core (Node cannot pass one in argv); /NAME is the shm_open spelling', async () => {
    await assert.rejects(createSegment({ dir, name: 'a\0b', dtype: 'f4', shape: [1] }), /NUL/);
    const r = await runCli(['create', '/slash_ok', '--dtype', 'u1', '--shape', '3', '--dir', dir, '--json']);
    assert.strictEqual(r.code, 0, r.stderr);
    assert.strictEqual(JSON.parse(r.stdout).name, 'slash_ok');
    fs.unlinkSync(path.join(dir, 'slash_ok'));
  });

  for (const [args, why] of [
    [['--dtype', 'object', '--shape', '2'], /unsupported dtype 'object'/],
    [['--dtype', 'f4', '--shape', '2,x'], /bad dimension 'x'/],
    [['--dtype', 'f4', '--shape=-1'], /bad dimension '-1'/],
    // The create wizard reads shapes with the same parser (issue #12): it refuses this too, with the same words.
    [['--dtype', 'f4', '--shape', '512x512'], /bad dimension '512x512': write whole numbers separated by commas, e\.g\. 512,512/],
    [['--dtype', 'f4'], /needs --dtype and --shape/],
    [['--dtype', 'f4', '--shape', '2', '--fill', 'ones'], /--fill must be/],
    [['--dtype', 'f4', '--shape', '2', '--format', 'zip'], /--format must be/],
    [['--from', '/nonexistent.npy', '--fill', 'random'], /exclude each other/],
  ] as const) {
    it(`CLI create usage error: ${args.join(' ')}`, async () => {
      const before = snapshot(dir);
      oneLine(await runCli(['create', 'u_err', ...args, '--dir', dir]), 2, why);
      assert.deepStrictEqual(snapshot(dir), before);
    });
  }

  const dtypes = ['<f4', 'float64', '>f8', '>i4', 'i8', '>u2', 'u1', 'int8', 'bool', '<f2', 'complex64', '>c16', 'bfloat16'];
  for (const fill of ['zeros', 'arange', 'random'] as const) {
    it(`create --fill ${fill}, npy and raw, ${dtypes.length} dtypes (incl. big-endian, bfloat16 as raw bytes): numpy loads exactly what numpy would make`, async () => {
      for (const dt of dtypes) {
        for (const format of ['npy', 'raw'] as const) {
          const name = `c_${fill}_${format}_${dt.replace(/[<>]/g, (c) => (c === '<' ? 'le' : 'be'))}`;
          const before = snapshot(dir);
          const shape = dt === 'u1' || dt === 'int8' ? [30, 20] : [7, 5, 3];
          const r = await runCli(['create', name, '--dtype', dt, '--shape', shape.join(','), '--fill', fill, '--format', format, '--dir', dir, '--json']);
          assert.strictEqual(r.code, 0, r.stderr);
          assert.strictEqual(r.stderr, '');
          const res = JSON.parse(r.stdout);
          const file = path.join(dir, name);
          const after = snapshot(dir);
          assert.deepStrictEqual(
            Object.keys(after).filter((k) => !(k in before)),
            [name],
            'exactly one new entry',
          );
          for (const k of Object.keys(before)) assert.strictEqual(after[k], before[k]);
          const st = fs.statSync(file);
          assert.strictEqual(st.mode & 0o777, 0o600);
          assert.strictEqual(res.size, st.size);
          const npdt = dt === 'bfloat16' ? 'bfloat16' : dt;
          const check = JSON.parse(py(['check_created', file, npdt, shape.join(','), fill, format]));
          assert.deepStrictEqual(check.shape, shape, `${name} shape`);
          if (fill === 'random') {
            assert.ok(check.inUnit, `${name}: random values in range`);
            assert.ok(check.distinct > 1, `${name}: not constant`);
          } else assert.ok(check.equal, `${name}: same values and bytes as numpy`);
          if (format === 'npy') {
            assert.ok(check.headerEqual, `${name}: NPY header byte for byte numpy's`);
            assert.strictEqual(res.dataOffset, check.dataOffset);
            assert.strictEqual(res.dataOffset % 64, 0);
          } else assert.strictEqual(res.dataOffset, 0);
          if (fill === 'zeros') assert.ok(st.blocks * 512 <= 8192, `${name}: zeros are sparse (${st.blocks} blocks)`);
          fs.unlinkSync(file);
        }
      }
    });
  }

  it('npyHeader: v1.0 with 64-byte alignment, v2.0 when the header does not fit in 65535 bytes', () => {
    const h1 = npyHeader('<f4', false, [3, 4]);
    assert.strictEqual(h1[6], 1);
    assert.strictEqual(h1.length % 64, 0);
    assert.strictEqual(h1.readUInt16LE(8) + 10, h1.length);
    assert.strictEqual(h1[h1.length - 1], 0x0a);
    const h2 = npyHeader('<f4', false, new Array(5000).fill(123456789012));
    assert.strictEqual(h2[6], 2);
    assert.strictEqual(h2.length % 64, 0);
    assert.strictEqual(h2.readUInt32LE(8) + 12, h2.length);
    assert.match(h2.toString('latin1', 12, 80), /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(123456789012, /);
  });

  it('create --from FILE.npy (Fortran order, big-endian): numpy reads the same array; a non-numeric .npy is refused', async () => {
    const src = path.join(outside, 'src_f.npy');
    py(['npy', src, '>f8', '6,4', '--order', 'F', '--fill', 'random']);
    const r = await runCli(['create', 'from_f', '--from', src, '--dir', dir, '--json']);
    assert.strictEqual(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout);
    assert.deepStrictEqual([res.dtype, res.shape, res.fortranOrder], ['>f8', [6, 4], true]);
    const same = execFileSync(
      '/usr/bin/python3',
      [
        '-c',
        `import numpy as np, sys
a = np.load(sys.argv[1]); b = np.load(sys.argv[2], mmap_mode='r+')
print(a.dtype == b.dtype and np.array_equal(a, b) and b.flags.f_contiguous)`,
        src,
        path.join(dir, 'from_f'),
      ],
      { encoding: 'utf8' },
    );
    assert.strictEqual(same.trim(), 'True');
    const raw = await runCli(['create', 'from_raw', '--from', src, '--format', 'raw', '--dir', dir, '--json']);
    assert.strictEqual(raw.code, 0, raw.stderr);
    assert.ok(fs.readFileSync(path.join(dir, 'from_raw')).equals(fs.readFileSync(src).subarray(fs.statSync(src).size - 6 * 4 * 8)));
    // dtype/shape given and different: refused.
    oneLine(await runCli(['create', 'from_x', '--from', src, '--dtype', 'f4', '--dir', dir]), 1, /dtype <f4 differs/);
    const str = path.join(outside, 'strings.npy');
    execFileSync('/usr/bin/python3', ['-c', 'import numpy as np, sys; np.save(sys.argv[1], np.array(["ab", "cd"]))', str]);
    const before = snapshot(dir);
    oneLine(await runCli(['create', 'from_str', '--from', str, '--dir', dir]), 1, /dtype <U2 is not numeric/);
    oneLine(await runCli(['create', 'from_none', '--from', path.join(outside, 'nope.npy'), '--dir', dir]), 1, /no such file/);
    fs.writeFileSync(path.join(outside, 'not.npy'), 'hello');
    oneLine(await runCli(['create', 'from_not', '--from', path.join(outside, 'not.npy'), '--dir', dir]), 1, /not an \.npy file/);
    assert.deepStrictEqual(snapshot(dir), before);
    fs.unlinkSync(path.join(dir, 'from_f'));
    fs.unlinkSync(path.join(dir, 'from_raw'));
  });

  it('never clobbers: an existing segment, and a planted symlink pointing outside, are refused and left as they were', async () => {
    const victim = path.join(outside, 'victim');
    fs.writeFileSync(victim, 'precious');
    fs.symlinkSync(victim, path.join(dir, 'planted'));
    fs.symlinkSync(path.join(outside, 'would_be_created'), path.join(dir, 'dangling'));
    fs.writeFileSync(path.join(dir, 'existing'), 'old');
    const before = snapshot(dir);
    const beforeOut = snapshot(outside);
    oneLine(
      await runCli(['create', 'planted', '--dtype', 'f4', '--shape', '4', '--fill', 'arange', '--dir', dir]),
      1,
      /planted: already exists \(a symbolic link; not followed\)/,
    );
    oneLine(await runCli(['create', 'dangling', '--dtype', 'f4', '--shape', '4', '--dir', dir]), 1, /dangling: already exists/);
    oneLine(await runCli(['create', 'existing', '--dtype', 'f4', '--shape', '4', '--dir', dir]), 1, /existing: already exists$/m);
    assert.deepStrictEqual(snapshot(dir), before);
    assert.deepStrictEqual(snapshot(outside), beforeOut);
    assert.strictEqual(fs.readFileSync(victim, 'utf8'), 'precious');
    assert.strictEqual(fs.readFileSync(path.join(dir, 'existing'), 'utf8'), 'old');
    for (const n of ['planted', 'dangling', 'existing']) fs.unlinkSync(path.join(dir, n));
    fs.unlinkSync(victim);
  });

  it('CLI create: a progress line on a terminal only, erased when done; nothing on a captured stderr', async () => {
    // `script` gives the command a terminal (util-linux); its output is what the terminal showed.
    const shown = execFileSync(
      'script',
      ['-qec', `${process.execPath} ${CLI} create --dir ${dir} tty.npy --dtype float64 --shape 32000000 --fill random`, '/dev/null'],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.match(shown, /\r\x1b\[Kcreating tty\.npy: \d+% \([\d.]+ MiB of 244\.1 MiB, [\d.]+ [KMG]iB\/s; Ctrl\+C cancels\)/);
    assert.match(shown, /\r\x1b\[Kcreated tty\.npy: float64 32000000/, 'the line is erased before the result');
    const r = await runCli(['create', '--dir', dir, 'piped.npy', '--dtype', 'float64', '--shape', '32000000', '--fill', 'random']);
    assert.strictEqual(r.code, 0, r.stderr);
    assert.strictEqual(r.stderr, '', 'no progress when stderr is not a terminal');
    fs.rmSync(path.join(dir, 'tty.npy'));
    fs.rmSync(path.join(dir, 'piped.npy'));
  });

  it('cancelled mid-fill (AbortSignal): rejects with an AbortError and leaves nothing behind', async () => {
    const before = snapshot(dir);
    const ac = new AbortController();
    let calls = 0;
    await assert.rejects(
      createSegment({
        dir,
        name: 'cancelled',
        dtype: 'f8',
        shape: [4 << 20],
        fill: 'random',
        signal: ac.signal,
        onProgress: (done, total) => {
          calls++;
          assert.ok(done <= total && total === 32 << 20);
          if (calls === 1) ac.abort();
        },
      }),
      (e: Error) => e.name === 'AbortError',
    );
    assert.strictEqual(calls, 1, 'chunked: progress after the first 8 MiB');
    assert.deepStrictEqual(snapshot(dir), before);
    // Aborted before it starts: nothing made either.
    await assert.rejects(createSegment({ dir, name: 'pre', dtype: 'f4', shape: [1], signal: AbortSignal.abort() }), (e: Error) => e.name === 'AbortError');
    assert.deepStrictEqual(snapshot(dir), before);
  });

  it('a failed create removes only its own file: one replaced under its name meanwhile is left alone', async () => {
    let swapped = false;
    const file = path.join(dir, 'swapped');
    const ac = new AbortController();
    // After the file is created, someone renames a file of theirs over it; then the create is cancelled.
    const p = createSegment({
      dir,
      name: 'swapped',
      dtype: 'u1',
      shape: [20 << 20],
      fill: 'random',
      signal: ac.signal,
      onProgress: () => {
        if (swapped) return;
        swapped = true;
        fs.writeFileSync(path.join(dir, 'theirs.tmp'), 'theirs');
        fs.renameSync(path.join(dir, 'theirs.tmp'), file);
        ac.abort();
      },
    });
    await assert.rejects(p, (e: Error) => e.name === 'AbortError');
    assert.strictEqual(fs.readFileSync(file, 'utf8'), 'theirs', 'their file survives the clean-up');
    fs.unlinkSync(file);
  });

  it('a full tmpfs of its own (unshare -m, size=1m): refused before writing, with the figures; ENOSPC mid-write leaves nothing', function () {
    if (process.getuid?.() !== 0) this.skip();
    const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-full-'));
    try {
      const script = [
        `mount -t tmpfs -o size=1m none ${mnt}`,
        `${process.execPath} ${CLI} create big --dtype f8 --shape 200000 --fill random --dir ${mnt}; echo "rc=$?"`,
        `ls -A ${mnt}; echo "--"`,
        // The statfs check told to see room: the writes then hit ENOSPC half way.
        `${process.execPath} -e '
          const fs = require("fs"); const real = fs.promises.statfs;
          fs.promises.statfs = async (d) => ({ ...(await real(d)), bavail: 1e12 });
          require(${JSON.stringify(MANAGE_JS)}).createSegment({ dir: ${JSON.stringify(mnt)}, name: "mid", dtype: "f8", shape: [400000], fill: "arange" })
            .then(() => console.log("created?!"), (e) => console.log("error:", e.message));'`,
        `ls -A ${mnt}; echo "--"`,
      ].join('\n');
      const out = execFileSync('unshare', ['-m', 'sh', '-c', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      const [first, second] = out.split('--\n');
      assert.match(first, /^rc=1\n$/m);
      assert.ok(first.trim().endsWith('rc=1'), `nothing listed after the refused create: ${first}`);
      assert.match(out, /error: .* ran out of room while writing mid .*nothing was left behind/);
      assert.strictEqual(second.replace(/^error:.*\n/m, ''), '', `nothing left after ENOSPC: ${second}`);
      // The refusal's message, with the figures (run once more to capture stderr).
      const err = execFileSync(
        'unshare',
        ['-m', 'sh', '-c', `mount -t tmpfs -o size=1m none ${mnt} && ${process.execPath} ${CLI} create big --dtype f8 --shape 200000 --dir ${mnt} 2>&1; true`],
        { encoding: 'utf8' },
      );
      assert.match(err, /^shm-inspector: not enough room in .*: big needs 1600128 bytes \(1\.5 MiB\), 1048576 bytes \(1\.0 MiB\) free of 1\.0 MiB\n$/);
    } finally {
      fs.rmdirSync(mnt);
    }
  });
});
