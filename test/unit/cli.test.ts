/**
 * `shm-inspector list` and `inspect` (dist/cli.js, as built) run as a child
 * process on segments numpy made: JSON fields, exit codes and stderr lines
 * exactly as docs/cli.md fixes them; also as an ordinary user.
 */
import * as assert from 'assert';
import { execFile, spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { identityOf, setInterpretation } from '../../extension/core/interpretations';
import type { Catalog, Segment } from '../../extension/core/types';
import { MAKE_SEGMENTS, py, PYTHON, SegmentJar, SHM_DIR, uniqueName, untilReady } from '../fixtures/segments';
import { CLI, runCli as runCliWith, type Run } from '../fixtures/cli';

const NOBODY = ['--reuid', 'nobody', '--regid', 'nogroup', '--clear-groups'];
const NO_CAPS = ['--bounding-set', '-dac_override,-dac_read_search,-fowner,-sys_ptrace,-sys_admin', '--inh-caps', '-all'];

let configDir = '';

const runCli = (args: string[], opts: { as?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<Run> =>
  runCliWith(args, { as: opts.as, env: { SHM_INSPECTOR_CONFIG_DIR: configDir, ...(opts.env ?? {}) } });

function json<T>(r: Run): T {
  assert.strictEqual(r.stderr, '', 'nothing on stderr');
  assert.strictEqual(r.code, 0, 'exit 0');
  return JSON.parse(r.stdout) as T; // throws unless stdout is exactly one JSON document
}

function oneLine(r: Run, code: number, pattern: RegExp): void {
  assert.strictEqual(r.code, code, `exit ${code} (stderr: ${r.stderr})`);
  assert.strictEqual(r.stdout, '', 'nothing on stdout');
  assert.ok(r.stderr.endsWith('\n') && r.stderr.split('\n').length === 2, `one line on stderr: ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr, pattern);
}

function canSetpriv(): boolean {
  return process.getuid?.() === 0 && fs.existsSync('/usr/bin/setpriv');
}

describe('shm-inspector CLI: list and inspect', function () {
  this.timeout(60_000);
  const jar = new SegmentJar();
  let dir: string;

  before(() => {
    assert.ok(fs.existsSync(CLI), `${CLI} is built (node scripts/build.mjs)`);
    dir = jar.name('shmi_cli').path;
    fs.mkdirSync(dir);
    configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-cli-config-'));
  });
  after(() => {
    jar.cleanup();
    fs.rmSync(configDir, { recursive: true, force: true });
  });

  it('list --json prints one document: directories, shmem, invisibleProcesses, segments with every contract field', async () => {
    const a = path.join(dir, 'a_c.npy');
    const b = path.join(dir, 'b_f.npy');
    py(['npy', a, '<f4', '37,53']);
    py(['npy', b, '>f8', '5,4,3', '--order', 'F']);
    const cat = json<Catalog>(await runCli(['list', '--json', '--dir', dir]));
    assert.deepStrictEqual(Object.keys(cat).sort(), ['directories', 'invisibleProcesses', 'segments', 'shmem']);
    assert.strictEqual(cat.directories.length, 1);
    assert.deepStrictEqual(Object.keys(cat.directories[0]).sort(), ['free', 'path', 'size', 'used']);
    assert.strictEqual(cat.directories[0].path, dir);
    assert.ok(typeof cat.shmem === 'number' && cat.shmem > 0);
    assert.ok(Number.isInteger(cat.invisibleProcesses) && cat.invisibleProcesses >= 0);
    const st = fs.statSync(a);
    const seg = cat.segments.find((s) => s.name === 'a_c.npy')!;
    assert.deepStrictEqual(seg, {
      name: 'a_c.npy',
      path: a,
      dev: st.dev,
      ino: st.ino,
      size: st.size,
      allocatedBytes: st.blocks * 512,
      mtimeMs: Math.floor(st.mtimeMs),
      uid: st.uid,
      mode: 0o644,
      format: 'npy',
      producer: null,
      dtype: '<f4',
      shape: [37, 53],
      fortranOrder: false,
      dataOffset: 128,
      children: null,
      holders: [],
      orphan: cat.invisibleProcesses > 0 ? null : true,
      deleted: false,
      symlinkTarget: null,
      error: null,
      errorCode: null,
    });
    const f = cat.segments.find((s) => s.name === 'b_f.npy')!;
    assert.strictEqual(f.dtype, '>f8');
    assert.deepStrictEqual(f.shape, [5, 4, 3]);
    assert.strictEqual(f.fortranOrder, true);
  });

  it('inspect NAME, /NAME and the absolute path print the same segment object', async () => {
    py(['npy', path.join(dir, 'same.npy'), '<i2', '9']);
    const plain = json<Segment>(await runCli(['inspect', 'same.npy', '--dir', dir, '--json']));
    const slash = json<Segment>(await runCli(['inspect', '/same.npy', '--dir', dir, '--json']));
    const abs = json<Segment>(await runCli(['inspect', '--json', '--dir', dir, path.join(dir, 'same.npy')]));
    assert.strictEqual(plain.name, 'same.npy');
    assert.strictEqual(plain.dtype, '<i2');
    assert.deepStrictEqual(slash, plain);
    assert.deepStrictEqual(abs, plain);
  });

  it('inspect of a missing segment: exit 1, "shm-inspector: NAME: no such segment", nothing on stdout', async () => {
    oneLine(await runCli(['inspect', 'psm_x', '--dir', dir, '--json']), 1, /^shm-inspector: psm_x: no such segment\n$/);
    oneLine(await runCli(['inspect', '/psm_x', '--dir', dir]), 1, /^shm-inspector: psm_x: no such segment\n$/);
  });

  it('a directory that does not exist: exit 1 with one line', async () => {
    oneLine(await runCli(['list', '--json', '--dir', path.join(dir, 'nope')]), 1, /^shm-inspector: .*nope: no such directory\n$/);
  });

  for (const [args, why] of [
    [['inspect', '../etc/passwd'], /is outside/],
    [['inspect', '/etc/passwd'], /is outside/],
    [['inspect', 'a/../../x'], /is outside/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['list', '--frobnicate'], /Unknown option '--frobnicate'/],
    [['list', 'extra'], /list takes no NAME/],
    [['inspect'], /inspect takes exactly 1 NAME/],
    [['inspect', 'a', 'b'], /inspect takes exactly 1 NAME/],
    [['list', '--dir', '/dev/shm', '--dir', '/tmp'], /--dir is given more than once/],
    [['list', '--dir'], /--dir/],
    [['list', '--json=yes'], /--json/],
  ] as const) {
    it(`usage error: ${args.join(' ')} (exit 2, one line on stderr)`, async () => {
      oneLine(await runCli([...args]), 2, new RegExp(`^shm-inspector: .*${why.source}`));
    });
  }

  it('no command: usage on stderr, exit 2; --help: usage on stdout, exit 0', async () => {
    const none = await runCli([]);
    assert.strictEqual(none.code, 2);
    assert.strictEqual(none.stdout, '');
    assert.match(none.stderr, /^usage: shm-inspector <command>/);
    const help = await runCli(['--help']);
    assert.strictEqual(help.code, 0);
    assert.match(help.stdout, /list \[--dir D\] \[--json\]/);
    assert.match(help.stdout, /inspect NAME \[--dir D\] \[--json\]/);
    const sub = await runCli(['inspect', '--help']);
    assert.strictEqual(sub.code, 0);
    assert.match(sub.stdout, /^usage: shm-inspector inspect NAME/);
  });

  it('without --json: an aligned table, one row per segment and folder entry', async () => {
    const folder = path.join(dir, 'joblib_memmapping_folder_cli');
    fs.mkdirSync(folder);
    py(['npy', path.join(folder, 'x.npy'), '<f4', '3,3']);
    py(['npy', path.join(dir, 'tab.npy'), '<c8', '2,2']);
    const r = await runCli(['list', '--dir', dir]);
    assert.strictEqual(r.code, 0);
    assert.strictEqual(r.stderr, '');
    const lines = r.stdout.split('\n');
    assert.match(lines[0], new RegExp(`^${dir}: .* used of .*, .* free$`));
    const header = lines.find((l) => l.startsWith('NAME'))!;
    const col = header.indexOf('FORMAT');
    const dt = header.indexOf('DTYPE');
    const rows = lines.filter((l) => /\b(npy|directory)\b/.test(l));
    assert.ok(rows.length >= 3, r.stdout);
    for (const row of rows) {
      assert.match(row.slice(col), /^(npy|directory)\s/, `FORMAT column aligned in: ${row}`);
    }
    const tab = rows.find((l) => l.startsWith('tab.npy'))!;
    assert.ok(tab.slice(dt).startsWith('complex64'), tab);
    assert.ok(
      rows.some((l) => l.startsWith('  x.npy')),
      'a folder entry is indented under its folder',
    );
    const one = await runCli(['inspect', 'joblib_memmapping_folder_cli/x.npy', '--dir', dir]);
    assert.strictEqual(one.code, 0);
    assert.match(one.stdout, /^name\s+joblib_memmapping_folder_cli\/x\.npy$/m);
    assert.match(one.stdout, /^dtype\s+float32 \(<f4\)$/m);
  });

  it('inspect --json of a folder entry gives that entry; the folder gives its children', async () => {
    const folder = path.join(dir, 'joblib_memmapping_folder_j');
    fs.mkdirSync(folder);
    py(['npy', path.join(folder, '1.npy'), '|u1', '10']);
    const entry = json<Segment>(await runCli(['inspect', '--json', '--dir', dir, 'joblib_memmapping_folder_j/1.npy']));
    assert.strictEqual(entry.name, 'joblib_memmapping_folder_j/1.npy');
    assert.strictEqual(entry.producer, 'joblib');
    assert.deepStrictEqual(entry.shape, [10]);
    const f = json<Segment>(await runCli(['inspect', '--json', '--dir', dir, 'joblib_memmapping_folder_j']));
    assert.strictEqual(f.format, 'directory');
    assert.deepStrictEqual(
      f.children!.map((c) => c.name),
      ['joblib_memmapping_folder_j/1.npy'],
    );
  });

  it('a deleted-but-mapped segment: inspect finds it, list puts it after the live ones', async () => {
    const { name, path: p } = jar.name('shmi_cli_del', '.npy');
    py(['npy', p, '<f4', '8,8']);
    const child = await jar.holder(['keep', p, '--via', 'fd', '--unlink']);
    const seg = json<Segment>(await runCli(['inspect', name, '--json']));
    assert.strictEqual(seg.deleted, true);
    assert.strictEqual(seg.path, p);
    assert.deepStrictEqual(seg.holders, [{ pid: child.pid, comm: 'python3', via: 'fd' }]);
    assert.deepStrictEqual(seg.shape, [8, 8]);
    const cat = json<Catalog>(await runCli(['list', '--json']));
    const at = cat.segments.findIndex((s) => s.path === p);
    assert.ok(at >= 0);
    assert.ok(cat.segments.slice(at).every((s) => s.deleted));
    const text = await runCli(['list']);
    assert.match(text.stdout, new RegExp(`^${name}\\s.*python3\\(${child.pid}\\)\\s+deleted, still held`, 'm'));
  });

  it('a multiprocessing.shared_memory segment (psm_*): producer python-shared-memory, raw', async () => {
    const name = uniqueName('psm_shmi');
    jar.track(path.join(SHM_DIR, name));
    py(['shared_memory', name, '<f4', '10']);
    const seg = json<Segment>(await runCli(['inspect', '/' + name, '--json']));
    assert.strictEqual(seg.name, name);
    assert.strictEqual(seg.producer, 'python-shared-memory');
    assert.strictEqual(seg.format, 'raw');
    assert.strictEqual(seg.size, 40);
    assert.strictEqual(seg.dtype, null);
  });

  it('an interpretation set through the shared file is what the CLI shows', async () => {
    const p = path.join(dir, 'interp.raw');
    py(['raw', p, '<i4', '5,2']);
    await setInterpretation(
      await identityOf(dir, 'interp.raw'),
      { dtype: 'int32', shape: [5, 2], offset: 0, order: 'C' },
      path.join(configDir, 'interpretations.json'),
    );
    const seg = json<Segment>(await runCli(['inspect', 'interp.raw', '--dir', dir, '--json']));
    assert.strictEqual(seg.format, 'raw');
    assert.strictEqual(seg.dtype, '<i4');
    assert.deepStrictEqual(seg.shape, [5, 2]);
    assert.strictEqual(seg.fortranOrder, false);
    assert.strictEqual(seg.dataOffset, 0);
    // Another config directory: no interpretation.
    const other = json<Segment>(
      await runCli(['inspect', 'interp.raw', '--dir', dir, '--json'], { env: { SHM_INSPECTOR_CONFIG_DIR: path.join(configDir, 'other') } }),
    );
    assert.strictEqual(other.dtype, null);
  });

  it('--json output is one document even when stdout is closed early (no crash on EPIPE)', async () => {
    const child = spawn(process.execPath, [CLI, 'list', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    assert.strictEqual(code, 0);
    assert.strictEqual(err, '');
  });
});

describe('shm-inspector CLI as an ordinary user (setpriv)', function () {
  this.timeout(60_000);
  const jar = new SegmentJar();
  const children: ChildProcess[] = [];
  let dir: string;

  before(function () {
    if (!canSetpriv()) this.skip();
    configDir ||= fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-cli-config-'));
    dir = jar.name('shmi_cli_user').path;
    fs.mkdirSync(dir);
    fs.chmodSync(dir, 0o1777); // like /dev/shm: anyone may create, only owners remove
  });
  after(() => {
    for (const c of children) c.kill('SIGKILL');
    jar.cleanup();
  });

  /** A fixture holder run as `as` (setpriv arguments); resolves once it prints ready. */
  async function holderAs(as: string[], args: string[]): Promise<ChildProcess> {
    const child = spawn('setpriv', [...as, PYTHON, MAKE_SEGMENTS, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(child);
    await untilReady(child);
    return child;
  }

  it('processes it may not inspect are counted in invisibleProcesses, not guessed; unreadable entries get an error', async () => {
    const held = path.join(dir, 'root_held.npy');
    py(['npy', held, '<f4', '4,4']);
    const rootHolder = await jar.holder(['keep', held, '--via', 'map']);
    const secret = path.join(dir, 'secret.npy');
    py(['npy', secret, '<f4', '4,4']);
    fs.chmodSync(secret, 0o600);
    const closed = path.join(dir, 'joblib_memmapping_folder_closed');
    fs.mkdirSync(closed);
    py(['npy', path.join(closed, 'x.npy'), '<f4', '2']);
    fs.chmodSync(closed, 0o700);

    // As root, the holder is visible.
    const asRoot = json<Catalog>(await runCli(['list', '--json', '--dir', dir]));
    assert.deepStrictEqual(
      asRoot.segments.find((s) => s.name === 'root_held.npy')!.holders.map((h) => h.pid),
      [rootHolder.pid],
    );

    const cat = json<Catalog>(await runCli(['list', '--json', '--dir', dir], { as: NOBODY }));
    assert.ok(cat.invisibleProcesses >= 1, `invisible ${cat.invisibleProcesses}`);
    const h = cat.segments.find((s) => s.name === 'root_held.npy')!;
    assert.deepStrictEqual(h.holders, [], 'a root process is not visible to nobody');
    assert.strictEqual(h.orphan, null, 'not guessed to be an orphan');
    assert.strictEqual(h.format, 'npy', 'readable (0644)');
    const s = cat.segments.find((x) => x.name === 'secret.npy')!;
    assert.strictEqual(s.format, 'raw');
    assert.match(s.error ?? '', /^unreadable: open: Permission denied/);
    assert.strictEqual(s.size, fs.statSync(secret).size, 'stat fields still known');
    assert.strictEqual(s.mode, 0o600);
    const f = cat.segments.find((x) => x.name === 'joblib_memmapping_folder_closed')!;
    assert.strictEqual(f.format, 'directory');
    assert.match(f.error ?? '', /cannot list folder: .*Permission denied/);
    assert.deepStrictEqual(f.children, []);
    const one = json<Segment>(await runCli(['inspect', 'secret.npy', '--dir', dir, '--json'], { as: NOBODY }));
    assert.match(one.error ?? '', /unreadable/);
  });

  it('its own processes are holders; a deleted segment it maps gets its size from the mapping', async () => {
    const mine = path.join(dir, 'nobody_own.npy');
    await new Promise<void>((resolve, reject) =>
      execFile('setpriv', [...NOBODY, PYTHON, MAKE_SEGMENTS, 'npy', mine, '<f4', '10,10'], (e) => (e ? reject(e) : resolve())),
    );
    jar.track(mine);
    const realSize = fs.statSync(mine).size;
    const fdHolder = await holderAs(NOBODY, ['keep', mine, '--via', 'fd']);
    const mapHolder = await holderAs(NOBODY, ['keep', mine, '--via', 'map', '--unlink']);
    const cat = json<Catalog>(await runCli(['list', '--json', '--dir', dir], { as: NOBODY }));
    const seg = cat.segments.find((s) => s.path === mine)!;
    assert.ok(seg, 'listed');
    assert.strictEqual(seg.deleted, true);
    assert.deepStrictEqual(seg.holders.map((h) => h.pid).sort(), [fdHolder.pid!, mapHolder.pid!].sort());
    // Through the fd holder, the file is fstat'ed and read exactly, even unprivileged.
    assert.strictEqual(seg.size, realSize);
    assert.strictEqual(seg.format, 'npy');
    fdHolder.kill('SIGKILL');
    await new Promise((r) => fdHolder.once('exit', r));
    // Now only a mapping holds it: nobody may not open /proc/PID/map_files (CAP_SYS_ADMIN), the mapping gives the size.
    const seg2 = json<Catalog>(await runCli(['list', '--json', '--dir', dir], { as: NOBODY })).segments.find((s) => s.path === mine)!;
    assert.strictEqual(seg2.deleted, true);
    assert.deepStrictEqual(seg2.holders, [{ pid: mapHolder.pid, comm: 'python3', via: 'map' }]);
    assert.strictEqual(seg2.size, 4096, 'page-rounded extent of the mapping');
    assert.strictEqual(seg2.format, 'raw');
    assert.strictEqual(seg2.details?.sizeFrom, 'mapping');
    assert.strictEqual(seg2.error, null);
  });

  it("root without capabilities: another user's 0600 file is unreadable; a fully privileged process is invisible, one without capabilities is not", async () => {
    const theirs = path.join(dir, 'theirs.npy');
    py(['npy', theirs, '<f4', '3']);
    fs.chmodSync(theirs, 0o600);
    fs.chownSync(theirs, 65534, 65534);
    const held = path.join(dir, 'caps_held.npy');
    py(['npy', held, '<f4', '3']);
    const privileged = await jar.holder(['keep', held, '--via', 'fd']);
    const plain = path.join(dir, 'caps_plain.npy');
    py(['npy', plain, '<f4', '3']);
    const unprivileged = await holderAs(NO_CAPS, ['keep', plain, '--via', 'map']);
    const cat = json<Catalog>(await runCli(['list', '--json', '--dir', dir], { as: NO_CAPS }));
    const t = cat.segments.find((s) => s.name === 'theirs.npy')!;
    assert.match(t.error ?? '', /^unreadable: open: Permission denied/);
    // Reading another process's maps/fds needs CAP_SYS_PTRACE when it has capabilities the reader lacks.
    const h = cat.segments.find((s) => s.name === 'caps_held.npy')!;
    assert.deepStrictEqual(h.holders, []);
    assert.strictEqual(h.orphan, null);
    const p2 = cat.segments.find((s) => s.name === 'caps_plain.npy')!;
    assert.deepStrictEqual(p2.holders, [{ pid: unprivileged.pid, comm: 'python3', via: 'map' }]);
    assert.strictEqual(p2.orphan, false);
    assert.ok(cat.invisibleProcesses >= 2, `PID 1 and the privileged holder ${privileged.pid} cannot be inspected (${cat.invisibleProcesses})`);
  });
});
