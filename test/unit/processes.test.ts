/**
 * Per-process memory, fork families and copied-since-fork against real Python families
 * (test/fixtures/fork_family.py): a parent with a numpy array and a dict of Python objects
 * forks workers that read the array, iterate the dict, or write exactly N pages of the array.
 * The truths come from what the test made: N, the array's and the dict's sizes, and an idle
 * sibling that runs the same interpreter code without touching the data (its copies are the
 * interpreter's own noise). Also: the estimate without CAP_SYS_ADMIN (setpriv), a zombie, a
 * child that execs, a spawned interpreter, another PID namespace, processes that exit during
 * the scan, cancellation, mappings by kind and a segment's residency per holder, `ps` CLI.
 */
import * as assert from 'assert';
import { execFileSync, spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import { processMappings, segmentResidency } from '../../extension/core/processes/mappings';
import { explainFamily } from '../../extension/core/processes/explain';
import { Cancelled, exactAvailable, findFamilies, measureInherited, memoryReport, scanProcesses } from '../../extension/core/processes/scan';
import type { MemoryReport, ProcessMemory } from '../../extension/core/processes/types';
import { CLI, runCli } from '../fixtures/cli';
import { childrenOf, startFamily, type RunningFamily } from '../fixtures/families';
import { PYTHON, SegmentJar } from '../fixtures/segments';

const MiB = 1024 * 1024;
// Sized down from the 200 MB + 200 MB: 2 cores and 24 GiB shared by 8 engineers.
const ARRAY_MB = 96;
const DICT_ENTRIES = 400_000;
const N_PAGES = 3000;
/** Pages the interpreter may copy beyond what the idle sibling copied (scheduling, allocator, stack). */
const NOISE_PAGES = 64;
const NO_SYS_ADMIN = ['--bounding-set', '-sys_admin', '--inh-caps', '-all'];

function proc(r: MemoryReport, pid: number): ProcessMemory {
  const p = r.processes.find((x) => x.pid === pid);
  assert.ok(p, `process ${pid} is listed`);
  return p;
}

describe('processes: memory, fork families, copied since fork (real Python families)', function () {
  this.timeout(180_000);
  let fam: RunningFamily;
  const roles = ['read', 'iterate', `write:${N_PAGES}`, 'idle', 'exec', 'exit', 'spawn'];

  before(async () => {
    fam = await startFamily(ARRAY_MB, DICT_ENTRIES, roles);
  });
  after(async () => {
    await fam?.stop();
  });

  it('finds the family: the parent and its forked workers; not the exec child, the spawned interpreter or the zombie', async () => {
    const r = await memoryReport({ family: fam.info.pid });
    const f = r.families.find((x) => x.root === fam.info.pid);
    assert.ok(f, 'a family rooted at the parent');
    const forked = ['read', 'iterate', `write:${N_PAGES}`, 'idle'].map((x) => fam.worker(x));
    assert.deepStrictEqual(
      [...f.members].sort((a, b) => a - b),
      [fam.info.pid, ...forked].sort((a, b) => a - b),
    );
    assert.strictEqual(f.members[0], fam.info.pid, 'the root first');
    // The exec'd child (now `sleep`) and the spawned interpreter (same executable, new address space) are no forked children.
    const all = await scanProcesses();
    findFamilies(all);
    for (const role of ['exec', 'spawn']) {
      const p = all.processes.find((x) => x.pid === fam.worker(role));
      assert.ok(p, `${role} child listed`);
      assert.strictEqual(p.ppid, fam.info.pid);
      assert.strictEqual(p.family, null, `${role} child is in no family`);
    }
    assert.strictEqual(all.processes.find((x) => x.comm === 'sleep' && x.pid === fam.worker('exec'))?.comm, 'sleep');
    // The zombie is not listed (it holds no memory) but counted.
    assert.ok(!all.processes.some((x) => x.pid === fam.worker('exit')), 'the zombie is not listed');
    assert.match(fs.readFileSync(`/proc/${fam.worker('exit')}/stat`, 'utf8'), /\) Z /, 'the exit worker is a zombie');
    assert.ok(all.zombies >= 1, 'zombies counted');
    // Sums: true RAM is the members' PSS, rssSum what top adds up, children's figures summed.
    const members = f.members.map((m) => proc(r, m));
    assert.strictEqual(
      f.trueBytes,
      members.reduce((s, m) => s + m.pss, 0),
    );
    assert.strictEqual(
      f.rssSum,
      members.reduce((s, m) => s + m.rss, 0),
    );
    assert.strictEqual(
      f.copiedBytes,
      members.slice(1).reduce((s, m) => s + m.inherited!.copiedBytes, 0),
    );
    assert.ok(f.rssSum > f.trueBytes * 2, `top's sum ${f.rssSum} counts the shared array once per worker (true ${f.trueBytes})`);
  });

  it('per-process figures come from the kernel: RSS, PSS, USS, anon/file parts, command line, start time', async () => {
    const r = await memoryReport({ family: fam.info.pid });
    const p = proc(r, fam.info.pid);
    const status = fs.readFileSync(`/proc/${p.pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)![1]) * 1024;
    assert.ok(Math.abs(p.anon.rss - kb('RssAnon')) < 4 * MiB, 'RssAnon');
    assert.ok(p.rss >= ARRAY_MB * MiB, 'the array is resident in the parent');
    assert.ok(p.pss < p.rss && p.uss < p.pss, 'shared pages make PSS < RSS and USS < PSS');
    assert.strictEqual(p.uss, p.privateClean + p.privateDirty);
    assert.deepStrictEqual(p.cmdline.slice(0, 2), [PYTHON, p.cmdline[1]]);
    assert.match(p.cmdline[1], /fork_family\.py$/);
    assert.ok(Math.abs(p.startTimeMs - Date.now()) < 10 * 60_000, 'started minutes ago at most');
    assert.strictEqual(p.comm, 'python3');
  });

  it('exact: the writer copied N pages, the reader a few at most, the dict iterator most of the dict', async function () {
    if (!exactAvailable()) this.skip();
    const r = await memoryReport({ family: fam.info.pid, exact: true });
    const page = fam.info.page;
    const inh = (role: string) => proc(r, fam.worker(role)).inherited!;
    for (const role of ['read', 'iterate', `write:${N_PAGES}`, 'idle']) assert.strictEqual(inh(role).exact, true, `${role} exact`);
    const idle = inh('idle').copiedBytes;
    const noise = NOISE_PAGES * page;
    assert.ok(idle < 4 * MiB, `the idle worker copied ${idle} bytes (interpreter only)`);
    const wrote = inh(`write:${N_PAGES}`).copiedBytes - idle;
    assert.ok(Math.abs(wrote - N_PAGES * page) <= noise, `writer copied ${wrote / page} pages beyond idle, wrote ${N_PAGES}`);
    const read = inh('read').copiedBytes - idle;
    assert.ok(read <= noise, `reader copied ${read / page} pages beyond idle`);
    assert.ok(inh('read').sharedBytes >= fam.info.arrayBytes * 0.95, 'the reader still shares the whole array');
    const it = inh('iterate').copiedBytes;
    assert.ok(it >= fam.info.dictBytes * 0.5 && it <= fam.info.dictBytes * 1.2, `iterator copied ${it} of the dict's ${fam.info.dictBytes}`);
    // The array's range shows the writer's copies.
    const a0 = fam.info.arrayAddress + fam.info.arrayBytes / 2;
    const arrRange = inh(`write:${N_PAGES}`).ranges!.find((g) => g.start <= a0 && a0 < g.end);
    assert.ok(arrRange && arrRange.copiedBytes >= N_PAGES * page, "the copies are in the array's range");
    const f = r.families[0];
    assert.strictEqual(f.exact, true);
    const e = explainFamily(f, new Map(r.processes.map((p) => [p.pid, p])));
    assert.strictEqual(e.python, true);
    assert.notStrictEqual(e.verdict, 'shared', 'the dict iterator is called out');
    assert.match(e.paragraphs.join('\n'), new RegExp(`PID ${fam.worker('iterate')}`));
    assert.match(e.paragraphs.join('\n'), /reference count/);
    assert.match(e.paragraphs.join('\n'), /gc\.freeze\(\)/);
  });

  it('estimate without CAP_SYS_ADMIN (setpriv, ps --json) points the same way, marked exact: false', async function () {
    if (process.getuid?.() !== 0) this.skip();
    const run = await runCli(['ps', '--json', '--exact', '--family', String(fam.worker('read'))], { as: NO_SYS_ADMIN });
    assert.strictEqual(run.code, 0, run.stderr);
    const r = JSON.parse(run.stdout) as MemoryReport;
    assert.strictEqual(r.families.length, 1, '--family with any member shows the whole family');
    assert.strictEqual(r.families[0].root, fam.info.pid);
    assert.strictEqual(r.families[0].exact, false);
    const page = fam.info.page;
    const inh = (role: string) => proc(r, fam.worker(role)).inherited!;
    for (const role of ['read', 'iterate', `write:${N_PAGES}`, 'idle']) assert.strictEqual(inh(role).exact, false);
    const idle = inh('idle').copiedBytes;
    const wrote = inh(`write:${N_PAGES}`).copiedBytes - idle;
    assert.ok(Math.abs(wrote - N_PAGES * page) <= 4 * NOISE_PAGES * page, `estimate: writer ${wrote / page} pages beyond idle`);
    assert.ok(inh('read').copiedBytes - idle <= 4 * NOISE_PAGES * page, 'estimate: the reader copied little');
    assert.ok(inh('iterate').copiedBytes >= fam.info.dictBytes * 0.5, 'estimate: the iterator copied most of the dict');
  });

  it('ps --json has the contract names; without --exact, inherited is the estimate', async () => {
    const run = await runCli(['ps', '--json', '--family', String(fam.worker('idle'))]);
    assert.strictEqual(run.code, 0, run.stderr);
    assert.strictEqual(run.stderr, '');
    const r = JSON.parse(run.stdout) as MemoryReport;
    for (const k of ['processes', 'families', 'uninspectable']) assert.ok(k in r, k);
    assert.strictEqual(typeof r.uninspectable, 'number');
    const f = r.families[0];
    for (const k of ['root', 'members', 'rssSum', 'trueBytes', 'sharedBytes', 'copiedBytes', 'exact']) assert.ok(k in f, `family.${k}`);
    const kid = proc(r, fam.worker('idle'));
    for (const k of ['pid', 'ppid', 'comm', 'cmdline', 'rss', 'pss', 'uss', 'swap']) assert.ok(k in kid, `process.${k}`);
    assert.ok(Array.isArray(kid.cmdline));
    assert.deepStrictEqual(
      Object.keys(kid.inherited!)
        .filter((k) => ['sharedBytes', 'copiedBytes', 'exact'].includes(k))
        .sort(),
      ['copiedBytes', 'exact', 'sharedBytes'],
    );
    assert.strictEqual(kid.inherited!.exact, false);
    assert.strictEqual(proc(r, fam.info.pid).inherited, undefined, 'the root inherited nothing');
  });

  it('ps prints the family as a tree with RSS, PSS, USS, shared and copied columns', async () => {
    const run = await runCli(['ps', '--family', String(fam.info.pid)]);
    assert.strictEqual(run.code, 0, run.stderr);
    const lines = run.stdout.split('\n');
    const head = lines.find((l) => l.startsWith('PID'))!;
    assert.match(head, /^PID\s+RSS\s+PSS\s+USS\s+SHARED\s+COPIED\s+COMMAND$/);
    assert.ok(
      lines.some((l) => l.startsWith(String(fam.info.pid))),
      'root row',
    );
    for (const role of ['read', 'idle'])
      assert.ok(
        lines.some((l) => new RegExp(`^[├└]─ ${fam.worker(role)} `).test(l)),
        `${role} under the root`,
      );
    assert.ok(
      lines.some((l) => l.startsWith('= family')),
      'family total row',
    );
    // Columns line up: every row's RSS ends where the header's RSS ends.
    const end = head.indexOf('RSS') + 3;
    for (const l of lines.filter((x) => /^[├└]─ \d+/.test(x))) assert.match(l.slice(end - 3, end), /iB$| B$/);
    assert.match(run.stdout, /estimated from smaps/);
  });

  it('usage errors and a missing process', async () => {
    const bad = await runCli(['ps', '--family', 'abc']);
    assert.strictEqual(bad.code, 2);
    assert.match(bad.stderr, /--family: 'abc' is not a process ID/);
    const gone = await runCli(['ps', '--family', '4194304999']);
    assert.strictEqual(gone.code, 1);
    assert.match(gone.stderr, /^shm-inspector: 4194304999: no such process, or not inspectable\n$/);
  });

  it('cancellation stops the pagemap pass; progress reaches the total', async () => {
    const scan = await scanProcesses();
    const families = findFamilies(scan).filter((f) => f.root === fam.info.pid);
    const ac = new AbortController();
    const p = measureInherited(scan.processes, families, { exact: true, signal: ac.signal });
    ac.abort();
    await assert.rejects(p, (e) => e instanceof Cancelled);
    let last: [number, number] = [0, 0];
    await measureInherited(scan.processes, families, { exact: true, onProgress: (d, t) => (last = [d, t]) });
    assert.ok(last[1] >= fam.info.arrayBytes, `total ${last[1]} covers the array`);
    assert.strictEqual(last[0], last[1]);
  });

  it('mappings by kind: the array in heap/anonymous, the interpreter under libraries and code', async () => {
    const groups = await processMappings(fam.info.pid);
    const heap = groups.find((g) => g.kind === 'heap')!;
    assert.ok(heap.rss >= fam.info.arrayBytes, 'heap and anonymous holds the array');
    // The middle of the array (its first page may sit in a mapping of its own, split by the kernel).
    const mid = fam.info.arrayAddress + fam.info.arrayBytes / 2;
    const arr = heap.mappings.find((m) => m.start <= mid && mid < m.end)!;
    assert.ok(arr.rss >= fam.info.arrayBytes * 0.98 && arr.shared >= fam.info.arrayBytes * 0.9, "the array's mapping is resident and shared with the workers");
    const libs = groups.find((g) => g.kind === 'library')!;
    assert.ok(
      libs.mappings.some((m) => /libpython|python3/.test(m.path)),
      'the interpreter',
    );
    assert.ok(groups.some((g) => g.kind === 'stack'));
    await assert.rejects(processMappings(4194304), /exited|No such/);
  });
});

describe('processes: segments, namespaces, and processes that come and go', function () {
  this.timeout(120_000);
  const jar = new SegmentJar();
  const started: ChildProcess[] = [];
  after(() => {
    for (const c of started) c.kill('SIGKILL');
    jar.cleanup();
  });

  it('a segment mapped by a holder: in its shared-memory group, and how much of it is resident', async () => {
    const seg = jar.name('shmi_procs_res', '.bin');
    // 16 MiB file in /dev/shm, mapped; the holder touches the first 5 MiB only.
    const code = `import mmap,os,sys
fd=os.open(sys.argv[1],os.O_RDWR|os.O_CREAT,0o600); os.ftruncate(fd,16<<20)
m=mmap.mmap(fd,16<<20); os.close(fd)
for i in range(0,5<<20,4096): m[i]=1
print('ready',flush=True); sys.stdin.read()`;
    const c = spawn(PYTHON, ['-c', code, seg.path], { stdio: ['pipe', 'pipe', 'inherit'] });
    started.push(c);
    await new Promise<void>((r) => c.stdout!.once('data', () => r()));
    const st = fs.statSync(seg.path);
    const groups = await processMappings(c.pid!);
    const shm = groups.find((g) => g.kind === 'shm')!;
    const m = shm.mappings.find((x) => x.path === seg.path)!;
    assert.ok(m, 'the segment is in the shared-memory group');
    assert.strictEqual(m.ino, st.ino);
    assert.strictEqual(m.dev, st.dev, "the device matches the catalog's st_dev (links the row to its segment)");
    assert.strictEqual(m.rss, 5 * MiB);
    const [res] = await segmentResidency(st.dev, st.ino, [c.pid!]);
    assert.deepStrictEqual({ pid: res.pid, rss: res.rss }, { pid: c.pid, rss: 5 * MiB });
    c.stdin!.end();
  });

  it("a family in another PID namespace (unshare -p -f --mount-proc) is found with this namespace's PIDs", async function () {
    if (process.getuid?.() !== 0) this.skip();
    const f = await startFamily(8, 1000, ['idle', 'idle'], ['unshare', '-p', '-f', '--mount-proc']);
    try {
      assert.strictEqual(f.info.pid, 1, 'the script is init of its namespace');
      const [root] = childrenOf(f.proc.pid!);
      assert.ok(root, "unshare's child");
      const r = await memoryReport({ family: root, exact: true });
      assert.strictEqual(r.families.length, 1);
      assert.strictEqual(r.families[0].root, root, 'the root has its PID in our namespace');
      assert.strictEqual(r.families[0].members.length, 3);
      for (const m of r.families[0].members.slice(1)) assert.strictEqual(proc(r, m).ppid, root);
    } finally {
      await f.stop();
    }
  });

  it('processes that exit during scans are dropped silently, never a failure', async () => {
    // A shell that keeps forking short-lived Python families while the scans run.
    const churn = spawn(
      'sh',
      [
        '-c',
        `while :; do ${PYTHON} -c "import os
for i in range(8):
    if os.fork()==0: os._exit(0)
" ; done`,
      ],
      { stdio: 'ignore' },
    );
    started.push(churn);
    try {
      for (let i = 0; i < 8; i++) {
        const r = await memoryReport({ exact: i % 2 === 0 });
        assert.ok(r.processes.length > 0);
        for (const p of r.processes) assert.ok(p.rss >= 0 && p.pss >= 0 && Number.isFinite(p.pss), `${p.pid} has figures`);
        for (const f of r.families)
          for (const m of f.members)
            assert.ok(
              r.processes.some((p) => p.pid === m),
              'members are listed',
            );
      }
    } finally {
      churn.kill('SIGKILL');
    }
    // A child killed between the scan and the comparison: dropped from the report.
    const fam = await startFamily(8, 1000, ['idle', 'idle']);
    try {
      const scan = await scanProcesses();
      const families = findFamilies(scan).filter((f) => f.root === fam.info.pid);
      process.kill(fam.info.workers[0].pid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 200));
      await measureInherited(scan.processes, families, { exact: true });
      const gone = scan.processes.find((p) => p.pid === fam.info.workers[0].pid)!;
      assert.ok(gone.inherited!.error !== undefined || gone.inherited!.sharedBytes === 0, 'the exited child has no figures');
    } finally {
      await fam.stop();
    }
  });

  it('PID 1 here refuses even root: counted as uninspectable, not listed', async function () {
    let refused = false;
    try {
      fs.readFileSync('/proc/1/smaps_rollup');
    } catch {
      refused = true;
    }
    if (!refused) this.skip();
    const r = await memoryReport();
    assert.ok(!r.processes.some((p) => p.pid === 1));
    assert.ok(r.uninspectable >= 1);
    const asNobody = execFileSync('setpriv', ['--reuid', 'nobody', '--regid', 'nogroup', '--clear-groups', process.execPath, CLI, 'ps', '--json'], {
      encoding: 'utf8',
    });
    const other = JSON.parse(asNobody) as MemoryReport;
    assert.ok(other.uninspectable > r.uninspectable, 'nobody may inspect fewer processes, and says how many it could not');
    assert.ok(
      other.processes.every((p) => p.uid === 65534),
      'nobody lists only its own processes',
    );
  });
});
