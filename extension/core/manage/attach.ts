/**
 * attachCode: a Python snippet that opens a segment the way its producer meant:
 * np.load(mmap_mode='r') for NPY, SharedMemory (track=False on >= 3.13; before that the
 * resource_tracker.unregister workaround) + np.ndarray for raw-with-interpretation and
 * SharedArray data directly in /dev/shm (np.memmap elsewhere), SharedArray.attach,
 * safetensors.safe_open, pyarrow.memory_map + ipc, joblib.load(mmap_mode='r'), and for raw
 * bytes a SharedMemory (or mmap) view. A deleted-but-mapped segment is reached through a
 * holder's /proc/PID/fd. Snippets avoid f-strings and newer syntax: they compile on 3.6+.
 */
import * as path from 'path';
import { parseNumericDType } from '../dtype';
import { displayText, pythonFsName } from '../names';
import type { Segment } from '../types';
import type { AttachSnippet } from './api';
import type { SysvSegment } from '../sysv';
import type { ForeignSysvSegment } from '../kinds/ipcns';

const SHM = '/dev/shm';

/** A Python string literal for any text (ASCII only: non-ASCII as escapes). */
export function pyStr(s: string): string {
  let out = "'";
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === "'") out += "\\'";
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (cp < 0x20 || cp === 0x7f) out += '\\x' + cp.toString(16).padStart(2, '0');
    else if (cp < 0x7f) out += ch;
    else if (cp <= 0xffff) out += '\\u' + cp.toString(16).padStart(4, '0');
    else out += '\\U' + cp.toString(16).padStart(8, '0');
  }
  return out + "'";
}

function pyTuple(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

type Version = [number, number] | undefined;

function atLeast(v: Version, major: number, minor: number): boolean | undefined {
  if (!v) return undefined;
  return v[0] > major || (v[0] === major && v[1] >= minor);
}

interface Dtype {
  expr: string;
  imports: string[];
  requires: string[];
}

/** A numpy dtype expression; ml_dtypes for bfloat16 and float8 types. */
function dtypeExpr(dtype: string): Dtype {
  const ml = /^(bfloat16|float8_[a-z0-9]+)$/.exec(dtype.replace(/^</, ''));
  if (ml) return { expr: `ml_dtypes.${ml[1]}`, imports: ['import ml_dtypes'], requires: ['numpy', 'ml_dtypes'] };
  return { expr: `np.dtype(${pyStr(dtype)})`, imports: [], requires: ['numpy'] };
}

/** A Python literal of a spelled name or path (core/names.ts): its exact bytes, as Python's os decodes them. */
const pyName = (spelled: string) => pyStr(pythonFsName(spelled));

/** A memfd region or shared anonymous memory (core/kinds/memfd.ts): no name anywhere, only its holders reach it. */
function isHeld(seg: Segment): boolean {
  const kind = (seg as { kind?: string }).kind;
  return kind === 'memfd' || kind === 'anonymous';
}

/** Why the snippet goes through a holder's /proc/PID/fd or map_files, in comment lines. */
function holderNote(seg: Segment): string[] {
  const who = seg.holders.map((h) => `${displayText(h.comm)} (pid ${h.pid})`).join(', ') || 'a process';
  const kind = (seg as { kind?: string }).kind;
  const label = (seg as { label?: string | null }).label;
  if (kind === 'memfd')
    return [
      `# ${seg.name}${label ? ` (memfd_create ${displayText(label)})` : ''} has no name in any folder: it is opened through`,
      `# a process that holds it, ${who}, as /proc/PID/fd/N. This works only while that process holds it,`,
      '# and only for the same user as that process (or root).',
    ];
  if (kind === 'anonymous')
    return [
      `# ${seg.name} is shared anonymous memory of ${who}: it has no name anywhere and is opened through`,
      '# /proc/PID/map_files of a process that maps it (root only: CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE), while that process maps it.',
    ];
  return [`# ${seg.name} was unlinked but is still held by ${who}:`, '# it can only be opened through a holder, while that holder keeps it.'];
}

/** Where the file is: its path, or (deleted, memfd, anonymous) a search through its holders' /proc/PID/fd and map_files. */
function locate(seg: Segment): string[] {
  if (!seg.deleted && !isHeld(seg)) return [`path = ${pyName(seg.path)}`];
  const pids = seg.holders.map((h) => String(h.pid));
  return [
    ...holderNote(seg),
    'def find_deleted_segment(pids, dev, ino):',
    '    for pid in pids:',
    "        for kind in ('fd', 'map_files'):",
    "            folder = '/proc/%d/%s' % (pid, kind)",
    '            try:',
    '                names = os.listdir(folder)',
    '            except OSError:',
    '                continue',
    '            for n in names:',
    '                p = os.path.join(folder, n)',
    '                try:',
    '                    st = os.stat(p)',
    '                except OSError:',
    '                    continue',
    '                if st.st_dev == dev and st.st_ino == ino:',
    '                    return p',
    `    raise FileNotFoundError(${pyStr(`no process this user may inspect still holds ${isHeld(seg) ? '' : 'the deleted segment '}${seg.name}`)})`,
    '',
    '',
    `path = find_deleted_segment([${pids.join(', ')}], ${seg.dev}, ${seg.ino})`,
  ];
}

/** True when the segment can be opened by name with SharedMemory (directly in /dev/shm, Python >= 3.8). */
function bySharedMemory(seg: Segment, v: Version): boolean {
  return !seg.deleted && !isHeld(seg) && path.dirname(seg.path) === SHM && atLeast(v, 3, 8) !== false;
}

/** Opening an existing SharedMemory segment without letting this process's resource tracker unlink it. */
function sharedMemoryLines(name: string, v: Version): { imports: string[]; body: string[] } {
  const n = pyName(name);
  const tracked = [
    `shm = shared_memory.SharedMemory(name=${n})`,
    "# Before Python 3.13, attaching registers the segment with this process's resource tracker, which",
    '# would unlink it when this process exits: unregister it (the usual workaround, bpo-38119).',
    "resource_tracker.unregister(shm._name, 'shared_memory')",
  ];
  const untracked = [`shm = shared_memory.SharedMemory(name=${n}, track=False)  # track=False: never unlinked by this process`];
  if (atLeast(v, 3, 13) === true) return { imports: ['from multiprocessing import shared_memory'], body: untracked };
  if (atLeast(v, 3, 13) === false) return { imports: ['from multiprocessing import resource_tracker, shared_memory'], body: tracked };
  return {
    imports: ['import sys', 'from multiprocessing import resource_tracker, shared_memory'],
    body: ['if sys.version_info >= (3, 13):', ...untracked.map((l) => '    ' + l), 'else:', ...tracked.map((l) => '    ' + l)],
  };
}

function snippet(kind: string, imports: string[], body: string[], requires: string[], seg: Segment): AttachSnippet {
  const imp = [...new Set([...(seg.deleted || isHeld(seg) ? ['import os'] : []), ...imports])];
  const sorted = [...imp.filter((l) => l.startsWith('import ')), ...imp.filter((l) => l.startsWith('from '))];
  const code = [...sorted, '', ...locate(seg), ...body].join('\n') + '\n';
  return { kind, code, requires: [...new Set(requires)] };
}

/** numpy over raw bytes at an offset: SharedMemory + np.ndarray in /dev/shm, np.memmap elsewhere. */
function numpyView(seg: Segment, v: Version, dtype: string, shape: number[], offset: number, fortran: boolean): AttachSnippet {
  const dt = dtypeExpr(dtype);
  const order = fortran ? ", order='F'" : '';
  if (bySharedMemory(seg, v)) {
    const shm = sharedMemoryLines(path.basename(seg.path), v);
    return dropPath(
      snippet(
        'SharedMemory',
        ['import numpy as np', ...dt.imports, ...shm.imports],
        [
          ...shm.body,
          `arr = np.ndarray(${pyTuple(shape)}, dtype=${dt.expr}, buffer=shm.buf, offset=${offset}${order})`,
          '# before shm.close(): del arr (the array points into shm.buf)',
        ],
        dt.requires,
        seg,
      ),
    );
  }
  return snippet(
    'numpy',
    ['import numpy as np', ...dt.imports],
    [`arr = np.memmap(path, dtype=${dt.expr}, mode='r', offset=${offset}, shape=${pyTuple(shape)}${order})`],
    dt.requires,
    seg,
  );
}

function rawBytes(seg: Segment, v: Version, note: string | null): AttachSnippet {
  const pre = note ? [`# ${note.replace(/\n/g, ' ')}`] : [];
  if (bySharedMemory(seg, v)) {
    const shm = sharedMemoryLines(path.basename(seg.path), v);
    return dropPath(
      snippet(
        'SharedMemory',
        shm.imports,
        [...pre, ...shm.body, 'data = shm.buf  # a memoryview of the raw bytes (no dtype or shape is known)', 'print(len(data), bytes(data[:16]))'],
        [],
        seg,
      ),
    );
  }
  return snippet(
    'mmap',
    ['import mmap'],
    [
      ...pre,
      "with open(path, 'rb') as f:",
      '    data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)  # the raw bytes (no dtype or shape is known)',
      'print(len(data), data[:16])',
    ],
    [],
    seg,
  );
}

/** Removes the `path = ...` line when the snippet opens the segment by name. */
function dropPath(s: AttachSnippet): AttachSnippet {
  return { ...s, code: s.code.replace(/^path = .*\n/m, '') };
}

function containerAndPart(seg: Segment): { part: string } {
  // A tensor's or column's name is `<container name>/<part>`; its path is the container's.
  for (let i = seg.name.indexOf('/'); i >= 0; i = seg.name.indexOf('/', i + 1)) {
    const prefix = seg.name.slice(0, i);
    if (seg.path === prefix || seg.path.endsWith('/' + prefix)) return { part: seg.name.slice(i + 1) };
  }
  return { part: seg.name.slice(seg.name.lastIndexOf('/') + 1) };
}

/** Why unpickling a joblib segment could run code that was not checked, or null when it was checked whole. */
function unpickleRisk(seg: Segment): string | null {
  if (seg.format !== 'joblib') return 'not recognised as a joblib array pickle';
  if (seg.details?.loadable === true) return null;
  const why = seg.details?.notLoadable ?? seg.error;
  return typeof why === 'string' ? why : 'the pickle was not recognised';
}

/** A comment saying that a pickle is not loaded, and why (loading a pickle runs the code it names). */
function notLoading(name: string, why: string): string {
  const line = (s: string) => `# ${s.replace(/\n/g, ' ')}\n`;
  return (
    line(`${name}: not loading it with joblib.load or pickle: ${why}.`) +
    line('Unpickling runs whatever code the pickle names; SHM Inspector suggests it only for an array pickle it has read whole.')
  );
}

/** A Python snippet that opens `segment`; `python` is the target version (default: works on any 3.x, checked at run time). */
export function attachCode(segment: Segment, opts: { python?: [number, number] } = {}): AttachSnippet {
  const v = opts.python;
  const seg = segment;
  if ((seg as { kind?: string }).kind === 'sysv') return sysvAttachCode(seg as unknown as SysvSegment);
  switch (seg.format) {
    case 'npy':
      if (seg.error) break;
      return snippet('numpy', ['import numpy as np'], ["arr = np.load(path, mmap_mode='r')"], ['numpy'], seg);
    case 'sharedarray': {
      if (seg.error || !seg.dtype || !seg.shape) break;
      const url =
        !seg.deleted && !isHeld(seg) && path.dirname(seg.path) === SHM
          ? [`arr = sa.attach(${pyName('shm://' + path.basename(seg.path))})`]
          : ["arr = sa.attach('file://' + path)"];
      const main = snippet('SharedArray', ['import SharedArray as sa'], url, ['SharedArray'], seg);
      return { ...(url[0].includes('shm://') ? dropPath(main) : main), alternatives: [numpyView(seg, v, seg.dtype, seg.shape, seg.dataOffset ?? 0, false)] };
    }
    case 'safetensors':
      return snippet(
        'safetensors',
        ['from safetensors import safe_open'],
        ["with safe_open(path, framework='numpy') as f:", '    tensors = {name: f.get_tensor(name) for name in f.keys()}'],
        ['safetensors', 'numpy'],
        seg,
      );
    case 'tensor': {
      const { part } = containerAndPart(seg);
      const main = snippet(
        'safetensors',
        ['from safetensors import safe_open'],
        ["with safe_open(path, framework='numpy') as f:", `    tensor = f.get_tensor(${pyName(part)})`],
        ['safetensors', 'numpy'],
        seg,
      );
      if (!seg.error && seg.dtype && seg.shape && seg.dataOffset !== null) {
        const alt = snippet(
          'numpy',
          ['import numpy as np', ...dtypeExpr(seg.dtype).imports],
          [`tensor = np.memmap(path, dtype=${dtypeExpr(seg.dtype).expr}, mode='r', offset=${seg.dataOffset}, shape=${pyTuple(seg.shape)})`],
          dtypeExpr(seg.dtype).requires,
          seg,
        );
        return { ...main, alternatives: [alt] };
      }
      return main;
    }
    case 'arrow':
    case 'column': {
      const ipc = seg.format === 'arrow' ? (seg.details?.ipc as string | undefined) : undefined;
      const open =
        ipc === 'file'
          ? ['table = pa.ipc.open_file(source).read_all()']
          : ipc === 'stream'
            ? ['table = pa.ipc.open_stream(source).read_all()']
            : [
                'try:',
                '    table = pa.ipc.open_file(source).read_all()',
                'except pa.ArrowInvalid:',
                '    source.seek(0)',
                '    table = pa.ipc.open_stream(source).read_all()',
              ];
      const col = seg.format === 'column' ? [`column = table.column(${pyName(containerAndPart(seg).part)})`] : [];
      return snippet('pyarrow', ['import pyarrow as pa', 'import pyarrow.ipc'], ["source = pa.memory_map(path, 'r')", ...open, ...col], ['pyarrow'], seg);
    }
    case 'joblib': {
      const why = unpickleRisk(seg);
      if (why === null) return snippet('joblib', ['import joblib'], ["obj = joblib.load(path, mmap_mode='r')"], ['joblib'], seg);
      // Never suggest running a pickle the walker did not see through: say why, and offer the array's bytes.
      const safe = !seg.error && seg.dtype && seg.shape && seg.dataOffset !== null && parseNumericDType(seg.dtype);
      return {
        kind: 'none',
        code: notLoading(seg.name, why),
        requires: [],
        ...(safe ? { alternatives: [numpyView(seg, v, seg.dtype!, seg.shape!, seg.dataOffset!, seg.fortranOrder === true)] } : {}),
      };
    }
    case 'directory': {
      const pkls = (seg.children ?? []).filter((c) => c.name.endsWith('.pkl'));
      const ok = pkls.filter((c) => unpickleRisk(c) === null);
      const skipped = pkls
        .filter((c) => unpickleRisk(c) !== null)
        .map((c) => `#   ${c.name.slice(c.name.lastIndexOf('/') + 1).replace(/\n/g, ' ')}: ${unpickleRisk(c)}`);
      if (ok.length === 0) {
        const why = pkls.length === 0 ? 'it holds no .pkl file' : 'none of its .pkl files is an array pickle that was checked whole';
        return { kind: 'none', code: notLoading(seg.name, why) + skipped.join('\n') + (skipped.length ? '\n' : ''), requires: [] };
      }
      // The files checked when listed, by name (not whatever the folder holds when this runs).
      const names = ok.map((c) => pyStr(c.name.slice(c.name.lastIndexOf('/') + 1)));
      return snippet(
        'joblib',
        ['import os', 'import joblib'],
        [
          ...(skipped.length ? ['# not loaded (loading runs what a pickle names; these were not checked whole):', ...skipped] : []),
          'objects = {',
          "    name: joblib.load(os.path.join(path, name), mmap_mode='r')",
          `    for name in [${names.join(', ')}]`,
          '}',
        ],
        ['joblib'],
        seg,
      );
    }
    case 'symlink':
      return {
        kind: 'none',
        code: `# ${seg.name.replace(/\n/g, ' ')} is a symbolic link to ${String(seg.symlinkTarget).replace(/\n/g, ' ')}; SHM Inspector never follows it.\n`,
        requires: [],
      };
    case 'semaphore': {
      const name = path.basename(seg.path).replace(/^sem\./, '');
      return {
        kind: 'posix_ipc',
        code: `# a POSIX named semaphore (no array data); posix_ipc (PyPI) opens it:\nimport posix_ipc\n\nsem = posix_ipc.Semaphore(${pyStr('/' + name)})\nprint(sem.value)\n`,
        requires: ['posix_ipc'],
      };
    }
    case 'raw':
      if (!seg.error && seg.dtype && seg.shape && parseNumericDType(seg.dtype)) {
        return numpyView(seg, v, seg.dtype, seg.shape, seg.dataOffset ?? 0, seg.fortranOrder === true);
      }
      break;
  }
  return rawBytes(seg, v, seg.error ? `the ${seg.format} decoder said: ${seg.error}` : null);
}

/** The array a System V segment's header describes, or null (not numeric, or a format numpy cannot view directly). */
function sysvArray(seg: SysvSegment): { dtype: string; shape: number[]; offset: number; fortran: boolean } | null {
  if (seg.error || !seg.dtype || !seg.shape || seg.dataOffset === null) return null;
  if (seg.format !== 'npy' && seg.format !== 'raw' && seg.format !== 'sharedarray') return null;
  if (!parseNumericDType(seg.dtype)) return null;
  return { dtype: seg.dtype, shape: seg.shape, offset: seg.dataOffset, fortran: seg.fortranOrder === true };
}

/**
 * A System V segment: attached read-only by its shmid with libc's shmat through ctypes (standard
 * library), the array over the attached bytes; `sysv_ipc` (PyPI) as the alternative. A segment of
 * another IPC namespace (a container's) is only reachable from inside it: the snippet enters it
 * first (os.setns, Python 3.12+, as root), or runs as is inside the container.
 */
function sysvAttachCode(seg: SysvSegment): AttachSnippet {
  const r = seg.sysv;
  const ns = (seg as Partial<ForeignSysvSegment>).namespace;
  const arr = sysvArray(seg);
  const dt = arr ? dtypeExpr(arr.dtype) : null;
  const order = arr?.fortran ? ", order='F'" : '';
  const head = [
    `# ${seg.name}: System V segment, key ${r.keyHex}${r.key === 0 ? ' (IPC_PRIVATE)' : ''}, ${r.size} bytes${seg.dtype ? `, ${seg.format} ${seg.dtype} ${JSON.stringify(seg.shape)}` : ''}.`,
    '# Attached read-only (SHM_RDONLY): writing to it would crash this process, so the array is read-only.',
  ];
  const enter = ns
    ? [
        `# It belongs to IPC namespace ${ns.id} (${displayText(ns.name).replace(/\n/g, ' ')}), which no other namespace sees: run this`,
        `# inside it (docker exec, or nsenter --ipc=/proc/${ns.pid}/ns/ipc python3 without these two lines), or as`,
        '# root on Python 3.12+ with them: they move this whole process into that namespace.',
        `with open('/proc/${ns.pid}/ns/ipc') as ns_file:`,
        '    os.setns(ns_file.fileno(), os.CLONE_NEWIPC)',
        '',
      ]
    : [];
  const view = arr
    ? [`arr = np.ndarray(${pyTuple(arr.shape)}, dtype=${dt!.expr}, buffer=data, offset=${arr.offset}${order})`, 'arr.flags.writeable = False']
    : ['print(len(data), bytes(data[:16]))'];
  const main = [
    ...head,
    ...enter,
    "libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6', use_errno=True)",
    'libc.shmat.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_int)',
    'libc.shmat.restype = ctypes.c_void_p',
    'libc.shmdt.argtypes = (ctypes.c_void_p,)',
    'SHM_RDONLY = 0o10000',
    `shmid, size = ${r.shmid}, ${r.size}`,
    'addr = libc.shmat(shmid, None, SHM_RDONLY)',
    'if addr is None or addr == ctypes.c_void_p(-1).value:',
    '    err = ctypes.get_errno()',
    "    raise OSError(err, 'shmat(%d): %s' % (shmid, os.strerror(err)))",
    "data = memoryview((ctypes.c_char * size).from_address(addr)).cast('B')",
    ...view,
    `# when done: ${arr ? 'del arr; ' : ''}del data; libc.shmdt(ctypes.c_void_p(addr))`,
  ];
  const imports = ['import ctypes', 'import ctypes.util', 'import os', ...(arr ? ['import numpy as np', ...dt!.imports] : [])];
  const code = [...imports, '', ...main].join('\n') + '\n';
  const alt = [
    'import sysv_ipc',
    ...(arr ? ['import numpy as np', ...dt!.imports] : []),
    ...(ns ? ['import os'] : []),
    '',
    ...head.slice(0, 1),
    ...enter,
    `shm = sysv_ipc.attach(${r.shmid}, flags=sysv_ipc.SHM_RDONLY)`,
    'data = shm.read()  # a copy of the bytes',
    ...(arr ? [`arr = np.ndarray(${pyTuple(arr.shape)}, dtype=${dt!.expr}, buffer=data, offset=${arr.offset}${order})`] : ['print(len(data), data[:16])']),
    'shm.detach()',
  ];
  return {
    kind: 'ctypes',
    code,
    requires: arr ? dt!.requires : [],
    alternatives: [{ kind: 'sysv_ipc', code: alt.join('\n') + '\n', requires: ['sysv_ipc', ...(arr ? dt!.requires : [])] }],
  };
}
