/**
 * Issue 6, attach code: every snippet is compiled by Python, and RUN against the real
 * segment where its modules are installed (Debian's numpy and joblib, the standard library;
 * Python 3.13 from pyenv when present, for track=False). SharedArray, safetensors and
 * pyarrow are not installable here: those snippets are compiled only (their numpy
 * alternatives are run). What a run reads is compared with the file's bytes.
 */
import * as assert from 'assert';
import { execFile, execFileSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { inspectSegment } from '../../extension/core/catalog';
import { identityOf, setInterpretation } from '../../extension/core/interpretations';
import { attachCode, type AttachSnippet } from '../../extension/core/manage';
import type { Segment } from '../../extension/core/types';
import { py, PYTHON, pyFormats, SegmentJar, SHM_DIR } from '../fixtures/segments';

const CLI = path.resolve(__dirname, '..', '..', '..', 'dist', 'cli.js');

/** A Python 3.13 for the track=False snippets, when this machine has one (pyenv). */
function python313(): string | null {
  const cands = [process.env.SHM_TEST_PYTHON313 ?? ''];
  const pyenv = path.join(process.env.HOME ?? os.homedir(), '.pyenv', 'versions');
  if (fs.existsSync(pyenv)) for (const v of fs.readdirSync(pyenv)) if (v.startsWith('3.13')) cands.push(path.join(pyenv, v, 'bin', 'python3'));
  return cands.find((c) => c && fs.existsSync(c)) ?? null;
}

let tmp = '';
let k = 0;

function compile(code: string, python = PYTHON): void {
  const f = path.join(tmp, `snippet_${++k}.py`);
  fs.writeFileSync(f, code);
  execFileSync(python, ['-c', "import sys; compile(open(sys.argv[1], encoding='utf-8').read(), sys.argv[1], 'exec')", f], { stdio: 'pipe' });
}

/** Runs the snippet plus `check` lines; returns stdout. */
function runPy(code: string, check: string, python = PYTHON): Promise<string> {
  const f = path.join(tmp, `run_${++k}.py`);
  fs.writeFileSync(f, code + '\n' + check + '\n');
  return new Promise((resolve, reject) =>
    execFile(python, [f], { encoding: 'utf8', timeout: 60_000 }, (err, out, errText) =>
      err ? reject(new Error(`${err.message}\n${errText}\n--- code:\n${code}`)) : resolve(out),
    ),
  );
}

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const SHA_ARR = "import hashlib\nprint(hashlib.sha256(arr.tobytes(order='A')).hexdigest())";

function fakeSegment(over: Partial<Segment>): Segment {
  return {
    name: 'x',
    path: '/dev/shm/x',
    dev: 1,
    ino: 2,
    size: 100,
    allocatedBytes: 4096,
    mtimeMs: 0,
    uid: 0,
    mode: 0o600,
    format: 'raw',
    producer: null,
    dtype: null,
    shape: null,
    fortranOrder: null,
    dataOffset: null,
    children: null,
    holders: [],
    orphan: true,
    deleted: false,
    symlinkTarget: null,
    error: null,
    errorCode: null,
    ...over,
  };
}

describe('manage: attach code', function () {
  this.timeout(120_000);
  const jar = new SegmentJar();
  let dir: string;
  let oldConfig: string | undefined;

  before(() => {
    dir = jar.name('shmi_mattach').path;
    fs.mkdirSync(dir);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-attach-'));
    oldConfig = process.env.SHM_INSPECTOR_CONFIG_DIR;
    process.env.SHM_INSPECTOR_CONFIG_DIR = path.join(tmp, 'config');
  });
  after(() => {
    jar.cleanup();
    fs.rmSync(tmp, { recursive: true, force: true });
    if (oldConfig === undefined) delete process.env.SHM_INSPECTOR_CONFIG_DIR;
    else process.env.SHM_INSPECTOR_CONFIG_DIR = oldConfig;
  });

  const seg = async (name: string, d = dir) => {
    const s = await inspectSegment(name, { dirs: [d] });
    assert.ok(s, name);
    return s;
  };

  it('NPY: np.load(path, mmap_mode="r"), run; a hostile file name (quotes, backslash, newline, non-ASCII) stays one correct literal', async () => {
    for (const name of ['plain.npy', `we'ird "q\\ n\nü 😀.npy`]) {
      const p = path.join(dir, name);
      py(['npy', p, '>f4', '5,6', '--order', 'F', '--fill', 'random']);
      const s = attachCode(await seg(name));
      assert.strictEqual(s.kind, 'numpy');
      assert.deepStrictEqual(s.requires, ['numpy']);
      assert.match(s.code, /np\.load\(path, mmap_mode='r'\)/);
      compile(s.code);
      const got = await runPy(s.code, SHA_ARR);
      assert.strictEqual(got.trim(), sha(fs.readFileSync(p).subarray(128)));
    }
  });

  it("a deleted-but-mapped NPY: the snippet finds it through the holder's /proc/PID/fd and loads it", async () => {
    const { name, path: p } = jar.name('shmi_mattach_del', '.npy');
    py(['npy', p, '<i8', '40', '--fill', 'arange']);
    const data = fs.readFileSync(p).subarray(128);
    await jar.holder(['keep', p, '--via', 'fd', '--unlink']);
    const s = attachCode((await inspectSegment(name))!);
    assert.match(s.code, /find_deleted_segment\(\[\d+\]/);
    compile(s.code);
    assert.strictEqual((await runPy(s.code, SHA_ARR)).trim(), sha(data));
  });

  it('raw + interpretation directly in /dev/shm: SharedMemory + np.ndarray(offset=...), per Python version; the segment survives the snippet', async () => {
    const { name, path: p } = jar.name('psm_mattach');
    py(['raw', p, '<f8', '4,5', '--offset', '64', '--order', 'F', '--fill', 'random']);
    await setInterpretation(await identityOf(SHM_DIR, name), { dtype: '<f8', shape: [4, 5], offset: 64, order: 'F' });
    const s0 = await seg(name, SHM_DIR);
    const want = sha(fs.readFileSync(p).subarray(64, 64 + 160));
    const byVersion: [string, [number, number] | undefined, RegExp, RegExp | null][] = [
      ['any 3.x (checked at run time)', undefined, /if sys\.version_info >= \(3, 13\):/, /resource_tracker\.unregister\(shm\._name, 'shared_memory'\)/],
      ['3.11', [3, 11], /SharedMemory\(name='psm_mattach[^']*'\)\n/, /resource_tracker\.unregister\(shm\._name, 'shared_memory'\)/],
      ['3.13', [3, 13], /SharedMemory\(name='psm_mattach[^']*', track=False\)/, null],
    ];
    for (const [label, v, re, workaround] of byVersion) {
      const s = attachCode(s0, { python: v });
      assert.strictEqual(s.kind, 'SharedMemory', label);
      assert.match(s.code, re, label);
      assert.match(s.code, /np\.ndarray\(\(4, 5\), dtype=np\.dtype\('<f8'\), buffer=shm\.buf, offset=64, order='F'\)/);
      if (workaround) assert.match(s.code, workaround);
      else assert.doesNotMatch(s.code, /resource_tracker/);
      compile(s.code);
      if (v?.[1] === 13) continue; // Debian's Python is 3.11: track= does not exist there (compiled only; 3.13 has no numpy here)
      assert.strictEqual((await runPy(s.code, SHA_ARR)).trim(), want, label);
      assert.ok(fs.existsSync(p), `${label}: the resource tracker did not unlink the segment`);
    }
    // Python 3.7 has no shared_memory: np.memmap.
    const old = attachCode(s0, { python: [3, 7] });
    assert.match(old.code, /np\.memmap\(path, dtype=np\.dtype\('<f8'\), mode='r', offset=64, shape=\(4, 5\), order='F'\)/);
    assert.strictEqual((await runPy(old.code, SHA_ARR)).trim(), want);
  });

  it('raw without interpretation: SharedMemory bytes view in /dev/shm (run with 3.11, and 3.13 where present), mmap elsewhere', async () => {
    const { name, path: p } = jar.name('psm_mattach_raw');
    const bytes = crypto.randomBytes(3000);
    fs.writeFileSync(p, bytes);
    const s0 = await seg(name, SHM_DIR);
    const check = 'import hashlib\nprint(hashlib.sha256(bytes(data[:3000])).hexdigest())';
    const s = attachCode(s0);
    assert.strictEqual(s.kind, 'SharedMemory');
    assert.deepStrictEqual(s.requires, []);
    compile(s.code);
    assert.strictEqual((await runPy(s.code, check)).trim().split('\n').pop(), sha(bytes));
    const p313 = python313();
    const s13 = attachCode(s0, { python: [3, 13] });
    compile(s13.code, p313 ?? PYTHON);
    if (p313) {
      assert.strictEqual((await runPy(s13.code, check, p313)).trim().split('\n').pop(), sha(bytes), 'run with Python 3.13, track=False');
      assert.strictEqual((await runPy(s.code, check, p313)).trim().split('\n').pop(), sha(bytes), 'the run-time check on 3.13');
    }
    assert.ok(fs.existsSync(p), 'still there after the snippets ran');
    const q = path.join(dir, 'plain.bin');
    fs.writeFileSync(q, bytes);
    const m = attachCode(await seg('plain.bin'));
    assert.strictEqual(m.kind, 'mmap');
    assert.strictEqual((await runPy(m.code, check)).trim().split('\n').pop(), sha(bytes));
  });

  it('SharedArray data: SharedArray.attach("shm://name") (compiled only: not installable) and a numpy alternative (run)', async () => {
    const { name, path: p } = jar.name('shmi_mattach_sa');
    pyFormats(['sharedarray', p, '<i4', '7,3']);
    const s0 = await seg(name, SHM_DIR);
    assert.strictEqual(s0.format, 'sharedarray');
    const s = attachCode(s0);
    assert.strictEqual(s.kind, 'SharedArray');
    assert.match(s.code, new RegExp(`sa\\.attach\\('shm://${name}'\\)`));
    compile(s.code);
    const alt = s.alternatives![0];
    assert.match(alt.code, /np\.ndarray\(\(7, 3\), dtype=np\.dtype\('<i4'\), buffer=shm\.buf, offset=0\)/);
    compile(alt.code);
    assert.strictEqual((await runPy(alt.code, SHA_ARR)).trim(), sha(fs.readFileSync(p).subarray(0, 84)));
    // Outside /dev/shm: file:// and np.memmap.
    const q = path.join(dir, 'sa_file');
    pyFormats(['sharedarray', q, '<f8', '4']);
    const f = attachCode(await seg('sa_file'));
    assert.match(f.code, /sa\.attach\('file:\/\/' \+ path\)/);
    compile(f.code);
    assert.strictEqual((await runPy(f.alternatives![0].code, SHA_ARR)).trim(), sha(fs.readFileSync(q).subarray(0, 32)));
  });

  it('safetensors: safe_open(path, framework="numpy") (compiled only), get_tensor for a tensor; its np.memmap alternative is run', async () => {
    const p = path.join(dir, 'model.safetensors');
    const info = pyFormats(['safetensors', p, 'w/0:F32:3,4;b:I16:5']);
    const s0 = await seg('model.safetensors');
    const c = attachCode(s0);
    assert.strictEqual(c.kind, 'safetensors');
    assert.match(c.code, /with safe_open\(path, framework='numpy'\) as f:/);
    compile(c.code);
    const t = s0.children!.find((x) => x.name.endsWith('/w/0'))!;
    const ts = attachCode(t);
    assert.match(ts.code, /tensor = f\.get_tensor\('w\/0'\)/);
    compile(ts.code);
    const alt = ts.alternatives![0];
    const [b, e] = info.tensors['w/0'];
    assert.strictEqual((await runPy(alt.code, SHA_ARR.replace('arr.', 'tensor.'))).trim(), sha(fs.readFileSync(p).subarray(b, e)));
  });

  it('Arrow IPC: pyarrow.memory_map + ipc.open_file / open_stream (compiled only: pyarrow is not installable), a column by name', () => {
    const file = attachCode(fakeSegment({ name: 't.arrow', path: '/dev/shm/t.arrow', format: 'arrow', details: { ipc: 'file' } }));
    assert.strictEqual(file.kind, 'pyarrow');
    assert.match(file.code, /source = pa\.memory_map\(path, 'r'\)\ntable = pa\.ipc\.open_file\(source\)\.read_all\(\)/);
    compile(file.code);
    const stream = attachCode(fakeSegment({ name: 't.arrows', path: '/dev/shm/t.arrows', format: 'arrow', details: { ipc: 'stream' } }));
    assert.match(stream.code, /pa\.ipc\.open_stream\(source\)/);
    compile(stream.code);
    const col = attachCode(fakeSegment({ name: 't.arrow/price (usd)', path: '/dev/shm/t.arrow', format: 'column' }));
    assert.match(col.code, /column = table\.column\('price \(usd\)'\)/);
    assert.match(col.code, /except pa\.ArrowInvalid:/);
    compile(col.code);
  });

  it('joblib: joblib.load(path, mmap_mode="r") for a .pkl, and a joblib folder entry by entry (run)', async () => {
    const f = path.join(dir, 'joblib_memmapping_folder_a');
    fs.mkdirSync(f);
    pyFormats(['joblib-dump', path.join(f, '1-2-x.pkl'), '<f8', '10,3']);
    pyFormats(['joblib-dump', path.join(f, '1-2-y.pkl'), '<i4', '7']);
    const one = attachCode(await seg('joblib_memmapping_folder_a/1-2-x.pkl'));
    assert.strictEqual(one.kind, 'joblib');
    compile(one.code);
    assert.strictEqual((await runPy(one.code, 'print(type(obj).__name__, obj.shape, obj.dtype.str)')).trim(), 'memmap (10, 3) <f8');
    const folder = attachCode(await seg('joblib_memmapping_folder_a'));
    compile(folder.code);
    assert.strictEqual(
      (await runPy(folder.code, 'print(sorted((k, v.shape) for k, v in objects.items()))')).trim(),
      "[('1-2-x.pkl', (10, 3)), ('1-2-y.pkl', (7,))]",
    );
  });

  it('semaphores and symlinks get code that compiles (posix_ipc; a comment for a link, never followed)', () => {
    const sem = attachCode(fakeSegment({ name: 'sem.lock', path: '/dev/shm/sem.lock', format: 'semaphore' }));
    assert.match(sem.code, /posix_ipc\.Semaphore\('\/lock'\)/);
    compile(sem.code);
    const link = attachCode(fakeSegment({ name: 'l\nx', format: 'symlink', symlinkTarget: '/etc/passwd\nimport os' }));
    assert.strictEqual(link.kind, 'none');
    compile(link.code);
    assert.strictEqual(link.code.split('\n').filter((l) => l && !l.startsWith('#')).length, 0, 'comment only');
  });

  it('CLI attach NAME [--python 3.X]: the snippet as text (with its needs) or --json; bad --python is a usage error', async () => {
    const p = path.join(dir, 'cli.npy');
    py(['npy', p, '<f4', '3']);
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(process.execPath, [CLI, ...args], { encoding: 'utf8' }, (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr })),
      );
    const text = await run(['attach', 'cli.npy', '--dir', dir]);
    assert.strictEqual(text.code, 0, text.stderr);
    assert.match(text.stdout, /^# needs: numpy\nimport numpy as np\n/);
    compile(text.stdout);
    const j = await run(['attach', 'cli.npy', '--dir', dir, '--json', '--python', '3.12']);
    const s = JSON.parse(j.stdout) as AttachSnippet;
    assert.deepStrictEqual(Object.keys(s).sort(), ['code', 'kind', 'requires']);
    assert.strictEqual((await run(['attach', 'cli.npy', '--dir', dir, '--python', '2.7'])).code, 2);
    assert.strictEqual((await run(['attach', 'cli.npy', '--dir', dir, '--python', 'three'])).code, 2);
    assert.strictEqual((await run(['attach', 'nope', '--dir', dir])).stderr, 'shm-inspector: nope: no such segment\n');
  });
});
