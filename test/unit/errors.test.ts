/**
 * Issue #13 item 1, typed errors end to end: the addon's rejections carry a stable `code`
 * (vanished ENOENT, permission EACCES as an ordinary user, a closed view CLOSED, a superseded
 * pass CANCELLED, bad arguments EINVAL), the core's errors are ShmErrors with codes, `list --json`
 * carries `errorCode` beside `error`, the restore flow asks to replace only for EXISTS, and no
 * decision in the source tree is made by matching an error's message text.
 */
import * as assert from 'assert';
import { execFile, execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ERROR_CODES, isErrorCode } from '../../contract/errors';
import { resolveSlice } from '../../extension/core/array';
import { UsageError } from '../../extension/core/catalog';
import { errorCode, ShmError } from '../../extension/core/errors';
import { ExistsError, OperationError, persistSegment, replacingIfConfirmed, restoreSegment } from '../../extension/core/manage';
import type { Catalog, Segment } from '../../extension/core/types';
import { native, openView, scanDir, statfs } from '../../extension/native';
import { runCli } from '../fixtures/cli';
import { py, SegmentJar } from '../fixtures/segments';

const NOBODY = ['--reuid', 'nobody', '--regid', 'nogroup', '--clear-groups'];
const NO_CAPS = ['--bounding-set', '-dac_override,-dac_read_search,-fowner,-sys_admin,-sys_ptrace,-ipc_owner', '--inh-caps', '-all'];
/** The compiled native.ts beside this test (out/extension/native.js), for a child process to load. */
const NATIVE_JS = path.resolve(__dirname, '..', '..', 'extension', 'native.js');

function canSetpriv(): boolean {
  return process.getuid?.() === 0 && fs.existsSync('/usr/bin/setpriv');
}

/** The code of the promise's rejection (fails when it resolves). */
async function rejectionCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof Error, `an Error: ${String(e)}`);
    const code = (e as { code?: unknown }).code;
    assert.strictEqual(typeof code, 'string', `a code beside the message: ${e.message}`);
    return code as string;
  }
  assert.fail('resolved; a rejection was expected');
}

/** The code of a synchronous throw. */
function thrownCode(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof Error);
    return String((e as { code?: unknown }).code);
  }
  assert.fail('did not throw');
}

describe('typed errors: the addon rejects with a stable code', function () {
  this.timeout(120_000);
  const jar = new SegmentJar();
  after(() => jar.cleanup());

  it('a vanished file is ENOENT (openView, scanDir, statfs); a process that exited is ENOENT', async () => {
    const { path: p } = jar.name('shmi_err_gone', '.npy');
    assert.strictEqual(await rejectionCode(openView(p)), 'ENOENT');
    assert.strictEqual(await rejectionCode(scanDir(p, 64, 64)), 'ENOENT');
    assert.strictEqual(await rejectionCode(statfs(p)), 'ENOENT');
    // A pid that cannot exist (above pid_max's largest value).
    assert.strictEqual(await rejectionCode(native().processMappings(4_194_305)), 'ENOENT');
    // IPC_RMID of a shmid no segment has: gone, as the kernel says (EINVAL).
    assert.strictEqual(await rejectionCode(native().removeSysv(2_147_483_646)), 'EINVAL');
  });

  it('a root-only file and folder read by an ordinary user (setpriv nobody, no capabilities) are EACCES', async function () {
    if (!canSetpriv()) this.skip();
    const dir = jar.name('shmi_err_perm').path;
    fs.mkdirSync(dir, { mode: 0o755 });
    const secret = path.join(dir, 'secret.npy');
    py(['npy', secret, '<f4', '4,4']);
    fs.chmodSync(secret, 0o600);
    const closed = path.join(dir, 'closed');
    fs.mkdirSync(closed, { mode: 0o700 });
    const script = [
      `const n = require(${JSON.stringify(NATIVE_JS)});`,
      'const code = (p) => p.then(() => "resolved", (e) => String(e.code));',
      'Promise.all([code(n.openView(process.argv[1])), code(n.scanDir(process.argv[2], 64, 64))]).then((c) => console.log(c.join(" ")));',
    ].join('\n');
    const out = await new Promise<string>((resolve, reject) =>
      execFile('setpriv', [...NOBODY, ...NO_CAPS, process.execPath, '-e', script, secret, closed], { encoding: 'utf8' }, (e, stdout, stderr) =>
        e ? reject(new Error(`${e.message}\n${stderr}`)) : resolve(stdout.trim()),
      ),
    );
    assert.strictEqual(out, 'EACCES EACCES');
  });

  it('a pass superseded by cancelPending() is CANCELLED; every pass of a closed view is CLOSED; a closed view throws CLOSED', async () => {
    const { path: p } = jar.name('shmi_err_big', '.npy');
    const rows = 4096;
    const cols = 4096; // 64 MiB of float32: each pass takes milliseconds, cancel() comes microseconds after
    const offset = Number(py(['fill_f32', p, String(rows), String(cols)]).trim());
    const slice = resolveSlice({ dtype: '<f4', shape: [rows, cols], fortranOrder: false, dataOffset: offset });
    const passes = (v: Awaited<ReturnType<typeof openView>>) =>
      [
        v.reduce({ ...slice, r0: 0, r1: rows, c0: 0, c1: cols, gridHeight: 512, gridWidth: 512, mode: 'mean' }),
        v.stats({ ...slice, bins: 4096, cancellable: true }),
      ].map((q) =>
        q.then(
          () => 'done',
          (e: { code?: string }) => e.code ?? 'no code',
        ),
      );

    const view = await openView(p);
    try {
      const codes: string[] = [];
      for (let i = 0; i < 4 && !codes.includes('CANCELLED'); i++) {
        const pending = passes(view);
        view.cancelPending();
        codes.push(...(await Promise.all(pending)).filter((c) => c !== 'done'));
      }
      assert.ok(codes.length > 0 && codes.every((c) => c === 'CANCELLED'), `cancelled passes: ${codes.join(', ')}`);
    } finally {
      view.close();
    }

    const closing = await openView(p);
    const pending = passes(closing);
    closing.close();
    assert.deepStrictEqual(await Promise.all(pending), ['CLOSED', 'CLOSED']);
    assert.strictEqual(
      thrownCode(() => closing.stats(slice)),
      'CLOSED',
    );
  });

  it('bad arguments throw EINVAL (or RANGE for numbers out of range) at once', async () => {
    const { path: p } = jar.name('shmi_err_args', '.npy');
    py(['npy', p, '<f4', '8,8']);
    const view = await openView(p);
    try {
      assert.strictEqual(
        thrownCode(() => (native().openView as (x: unknown) => unknown)(42)),
        'EINVAL',
      );
      assert.strictEqual(
        thrownCode(() => view.read(-1, 4)),
        'RANGE',
      );
      const slice = resolveSlice({ dtype: '<f4', shape: [8, 8], fortranOrder: false, dataOffset: 128 });
      assert.strictEqual(
        thrownCode(() => view.reduce({ ...slice, r0: 0, r1: 9, c0: 0, c1: 8, gridHeight: 1, gridWidth: 1, mode: 'mean' })),
        'RANGE',
      );
      // A rejection's code is one of the registry's (an errno name the registry lacks maps to EIO).
      assert.ok(isErrorCode(await rejectionCode(openView(p + '.nope'))));
    } finally {
      view.close();
    }
  });
});

describe('typed errors: the core', () => {
  it('errorCode: ShmError subclasses keep their class and carry fixed codes; fs errors their errno; AbortError is CANCELLED; a bug is INTERNAL', async () => {
    const usage = new UsageError('bad');
    assert.ok(usage instanceof ShmError && usage instanceof UsageError);
    assert.strictEqual(errorCode(usage), 'USAGE');
    const exists = new ExistsError('taken', ['/x']);
    assert.ok(exists instanceof OperationError);
    assert.strictEqual(exists.code, 'EXISTS');
    assert.strictEqual(new OperationError('failed').code, 'FAILED');
    const fsError = await fs.promises.open('/nonexistent/shmi-err').catch((e: unknown) => e);
    assert.strictEqual(errorCode(fsError), 'ENOENT');
    const ac = new AbortController();
    ac.abort();
    const aborted = await fs.promises.readFile('/proc/self/status', { signal: ac.signal }).catch((e: unknown) => e);
    assert.strictEqual(errorCode(aborted), 'CANCELLED');
    assert.strictEqual(errorCode({ code: 'EXDEV' }), 'EIO', 'an errno the registry lacks');
    assert.strictEqual(errorCode(new TypeError('x is undefined')), 'INTERNAL');
    assert.ok(Object.keys(ERROR_CODES).every(isErrorCode));
  });
});

describe('typed errors: list --json has errorCode beside error', function () {
  this.timeout(60_000);
  const jar = new SegmentJar();
  after(() => jar.cleanup());

  it('EACCES for an unreadable file and folder (as nobody), NOTFILE for a FIFO, FORMAT for a lying header, null when fine', async function () {
    if (!canSetpriv()) this.skip();
    const dir = jar.name('shmi_err_list').path;
    fs.mkdirSync(dir, { mode: 0o755 });
    py(['npy', path.join(dir, 'fine.npy'), '<f4', '4,4']);
    py(['npy', path.join(dir, 'secret.npy'), '<f4', '4,4']);
    fs.chmodSync(path.join(dir, 'secret.npy'), 0o600);
    fs.mkdirSync(path.join(dir, 'closed'), { mode: 0o700 });
    py(['npy', path.join(dir, 'closed', 'x.npy'), '<f4', '2']);
    execFileSync('mkfifo', [path.join(dir, 'pipe')]);
    // An NPY header that claims more data than the file has.
    const npy = fs.readFileSync(path.join(dir, 'fine.npy'));
    fs.writeFileSync(path.join(dir, 'short.npy'), npy.subarray(0, npy.length - 8));

    const r = await runCli(['list', '--json', '--dir', dir], { as: NOBODY });
    assert.strictEqual(r.code, 0, r.stderr);
    const cat = JSON.parse(r.stdout) as Catalog;
    const by = (n: string) => cat.segments.find((s) => s.name === n)!;
    const pairs = Object.fromEntries(['fine.npy', 'secret.npy', 'closed', 'pipe', 'short.npy'].map((n) => [n, [by(n).errorCode, typeof by(n).error]]));
    assert.deepStrictEqual(pairs, {
      'fine.npy': [null, 'object'],
      'secret.npy': ['EACCES', 'string'],
      closed: ['EACCES', 'string'],
      pipe: ['NOTFILE', 'string'],
      'short.npy': ['FORMAT', 'string'],
    });
    // `inspect` carries it too, and an array command refuses the unreadable one with exit 1.
    const one = await runCli(['inspect', 'secret.npy', '--dir', dir, '--json'], { as: NOBODY });
    assert.strictEqual((JSON.parse(one.stdout) as Segment).errorCode, 'EACCES');
    const stats = await runCli(['stats', 'secret.npy', '--dir', dir], { as: NOBODY });
    assert.strictEqual(stats.code, 1, stats.stderr);
  });
});

describe('typed errors: restore asks to replace only what exists (EXISTS)', function () {
  this.timeout(60_000);
  const jar = new SegmentJar();
  let work: string;
  let dir: string;
  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-err-restore-'));
    dir = jar.name('shmi_err_restore').path;
    fs.mkdirSync(dir);
    py(['npy', path.join(dir, 'src.npy'), '<f4', '16,16']);
    await persistSegment({ dir, name: 'src.npy', to: path.join(work, 'snap.npy') });
  });
  after(() => {
    jar.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  /** The restore command's flow (commands/manage.ts) with a recorded confirmation. */
  async function restoreAs(name: string, answer: boolean): Promise<{ asked: string[]; result?: unknown; error?: unknown }> {
    const asked: string[] = [];
    const run = (force: boolean) => restoreSegment({ dir, file: path.join(work, 'snap.npy'), name, force });
    try {
      const result = await replacingIfConfirmed(run, async (e) => {
        asked.push(e.code);
        return answer;
      });
      return { asked, result };
    } catch (error) {
      return { asked, error };
    }
  }

  it('a file of that name: asked, and replaced when confirmed', async () => {
    fs.writeFileSync(path.join(dir, 'taken'), 'old');
    const r = await restoreAs('taken', true);
    assert.deepStrictEqual(r.asked, ['EXISTS']);
    assert.ok(r.result, `restored: ${String(r.error)}`);
    assert.strictEqual(fs.statSync(path.join(dir, 'taken')).size, fs.statSync(path.join(work, 'snap.npy')).size);
  });

  it('a folder of that name ("a folder of that name exists"): not asked, EISDIR, the folder untouched', async () => {
    fs.mkdirSync(path.join(dir, 'folder'));
    const r = await restoreAs('folder', true);
    assert.deepStrictEqual(r.asked, [], 'no replace prompt for a folder');
    assert.strictEqual(errorCode(r.error), 'EISDIR');
    assert.match((r.error as Error).message, /a folder of that name exists/);
    assert.ok(fs.statSync(path.join(dir, 'folder')).isDirectory());
  });

  it('a checksum that does not match: not asked, FAILED', async () => {
    const bad = path.join(work, 'bad.npy');
    fs.copyFileSync(path.join(work, 'snap.npy'), bad);
    fs.writeFileSync(`${bad}.sha256`, `${'0'.repeat(64)}  bad.npy\n`);
    fs.writeFileSync(path.join(dir, 'bad.npy'), 'old');
    const asked: string[] = [];
    const err = await replacingIfConfirmed(
      (force) => restoreSegment({ dir, file: bad, force }),
      async (e) => (asked.push(e.code), true),
    ).catch((e: unknown) => e);
    // Asked once (the name is taken), then the forced run fails its checksum: no second prompt.
    assert.deepStrictEqual(asked, ['EXISTS']);
    assert.strictEqual(errorCode(err), 'FAILED');
    assert.match((err as Error).message, /checksum mismatch/);
    assert.strictEqual(fs.readFileSync(path.join(dir, 'bad.npy'), 'utf8'), 'old');
  });
});

describe('typed errors: no decision by message text in the source tree', () => {
  const ROOT = path.resolve(__dirname, '..', '..', '..');
  /** Words of error messages (the addon's, Node's, the core's): a regex or search for them is a decision on text. */
  const ERROR_WORDS = 'EACCES|EPERM|ENOENT|permission|denied|unreadable|exists|no such|shrank|SIGBUS|cancelled|not a regular|vanished';
  /** Decisions on an error's text: `.message.includes(`, `.error?.startsWith(`, a regex tested against error text. */
  const PATTERNS: [RegExp, string][] = [
    [/\.message\??\.(includes|startsWith|endsWith|match|search|indexOf)\(/, 'a method on .message'],
    [/\.error\??\.(includes|startsWith|endsWith|match|search|indexOf)\(/, 'a method on .error'],
    [/\/[^/\n]*\/[gimsuy]*\.(test|exec)\([^)]*\b(message|error|msg|err|e)\b[^)]*\)/, 'a regex tested against an error or its message'],
    [new RegExp(`/[^/\\n]*(${ERROR_WORDS})[^/\\n]*/[gimsuy]*\\.(test|exec)\\(`, 'i'), 'a regex of error words'],
    [new RegExp(`\\.(startsWith|includes|endsWith|indexOf)\\(['"\`][^'"\`]*(${ERROR_WORDS})`, 'i'), 'a search for error words'],
    [/\.(message|error)\s*===?\s*['"`]/, 'a comparison of error text'],
  ];

  function sources(dir: string): string[] {
    const out: string[] = [];
    for (const d of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = `${dir}/${d.name}`;
      if (d.isDirectory()) out.push(...sources(rel));
      else if (/\.(ts|mts|js|mjs)$/.test(d.name)) out.push(rel);
    }
    return out;
  }

  it('extension/, webview/ and contract/ make no decision by matching message text', () => {
    const files = ['extension', 'webview', 'contract'].flatMap(sources);
    assert.ok(files.length > 50, `${files.length} files read`);
    const found: string[] = [];
    for (const f of files) {
      fs.readFileSync(path.join(ROOT, f), 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (/^\s*(\/\/|\*|\/\*)/.test(line)) return;
          for (const [re, what] of PATTERNS) if (re.test(line)) found.push(`${f}:${i + 1}: ${what}: ${line.trim()}`);
        });
    }
    assert.deepStrictEqual(found, []);
  });
});
