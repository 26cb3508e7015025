/**
 * File-system helpers below the catalog and the management operations (no `vscode` import):
 * errno words, SHM Inspector's own temporary names, opening a user-given file for reading
 * without ever blocking (openRegular), and writing a user-given path without ever blocking or
 * writing through a symlink, FIFO or device (writeUserFile).
 */
import * as fs from 'fs';
import * as path from 'path';
import { formatBytes } from './format-words';
import { nodeCrypto } from './lazy';
import { OperationError } from './manage/api';
import { errnoWords, errorCode, errorMessage, isOsCode, ShmError } from './errors';

/** The errno code of an fs error (`ENOENT`...), or of a ShmError whose code is one; otherwise undefined. */
export function errnoOf(e: unknown): string | undefined {
  if (e instanceof ShmError) return isOsCode(e.code) ? e.code : undefined;
  return (e as NodeJS.ErrnoException)?.code;
}

/** `EACCES: permission denied` style text for an fs error. */
export function errnoText(e: unknown): string {
  const code = errnoOf(e);
  const msg = errorMessage(e);
  return code && !(e instanceof ShmError) ? `${code}: ${errnoWords(e) ?? msg}` : msg;
}

export function bytesWords(n: number): string {
  return `${n} bytes (${formatBytes(n)})`;
}

/** Every temporary name SHM Inspector makes in a directory starts with this. */
export const TEMP_PREFIX = '.shmi-';

/**
 * Our temporary names, exactly: `.shmi-PID-HEX.tmp` (12 hex digits: tempBeside, while persist,
 * create or restore write a file) and `.shmi-rm-HEX` or `.shmi-rm-HEX-NAME` (16 hex digits:
 * native.ts removeEntries, while NAME is removed). Any other `.shmi-*` name is a user's file like any other.
 */
const OUR_TEMPORARY = /^\.shmi-(?:\d+-[0-9a-f]{12}\.tmp|rm-[0-9a-f]{16}(?:-[\s\S]+)?)$/;

/** The name removeEntries unlinked a file under: `.shmi-rm-HEX-NAME` (see native/src/fsops.cc). */
const REMOVED = /^\.shmi-rm-[0-9a-f]{16}-([\s\S]+)$/;

/**
 * The path a removed file had, from the one it was unlinked under: a process that still maps it
 * or holds it open shows its last name (/proc/PID/maps, fd links), which for a segment unlinked by
 * SHM Inspector is the private `.shmi-rm-HEX-NAME`. Any other path is returned as it is.
 */
export function removedPath(p: string): string {
  const slash = p.lastIndexOf('/');
  const m = REMOVED.exec(p.slice(slash + 1));
  return m ? p.slice(0, slash + 1) + m[1] : p;
}

/**
 * True for a name (or the last part of a path) that is one of our temporary files (see
 * OUR_TEMPORARY): never a segment, so never listed, and never a name a new segment may take.
 */
export function isOurTemporary(name: string): boolean {
  return OUR_TEMPORARY.test(name.slice(name.lastIndexOf('/') + 1));
}

/** A temp name in `dir` (short: the target's name may already be 255 bytes). */
export function tempBeside(dir: string): string {
  return path.join(dir, `${TEMP_PREFIX}${process.pid}-${nodeCrypto().randomBytes(6).toString('hex')}.tmp`);
}

/** What a file that is not regular is, in words. */
function kindWords(st: fs.Stats): string {
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isDirectory()) return 'a directory';
  return 'something else';
}

/** statfs f_type of kernel file systems whose files' sizes are not their contents. */
const PSEUDO_FS: Record<number, string> = {
  0x9fa0: '/proc',
  0x62656572: '/sys',
  0x64626720: 'debugfs',
  0x74726163: 'tracefs',
  0x73636673: 'securityfs',
  0x27e0eb: 'cgroup',
  0x63677270: 'cgroup2',
  0x62656570: 'configfs',
  0xcafe4a11: 'bpffs',
  0xde5e81e4: 'efivarfs',
};

export interface RegularFile {
  fh: fs.promises.FileHandle;
  st: fs.Stats;
}

/**
 * Opens a user-given file for reading without ever blocking: O_NONBLOCK (a FIFO or a
 * device does not wait for a writer), O_NOCTTY, O_NOFOLLOW unless `follow`; then fstat,
 * and refuses anything but a regular file, and kernel files (/proc, /sys...) whose size
 * is not their content (`/proc/self/status` has size 0). Errors are OperationErrors
 * that name the file.
 */
export async function openRegular(file: string, o: { follow?: boolean } = {}): Promise<RegularFile> {
  const c = fs.constants;
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, c.O_RDONLY | c.O_NONBLOCK | c.O_NOCTTY | (o.follow ? 0 : c.O_NOFOLLOW));
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new OperationError(`${file}: no such file`, 'ENOENT');
    if (code === 'ELOOP' && !o.follow) throw new OperationError(`${file}: a symbolic link; not followed`, 'ELOOP');
    if (code === 'ENXIO') throw new OperationError(`${file}: not a regular file (a socket or a device without its driver)`, 'NOTFILE');
    throw new OperationError(`${file}: cannot read it: ${errnoText(e)}`, errorCode(e));
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new OperationError(`${file}: ${kindWords(st)}, not a regular file; not read`, 'NOTFILE');
    const fsType = await fs.promises.statfs(file).then(
      (s) => PSEUDO_FS[s.type],
      () => undefined,
    );
    if (fsType) throw new OperationError(`${file}: a ${fsType} file, whose size is not its content; copy it to a regular file first`, 'NOTFILE');
    if (st.size === 0) {
      const { bytesRead } = await fh.read(Buffer.alloc(1), 0, 1, 0);
      if (bytesRead > 0) throw new OperationError(`${file}: its size says 0 bytes but it has content (a kernel file?); copy it to a regular file first`);
    }
    return { fh, st };
  } catch (e) {
    await fh.close().catch(() => undefined);
    if (e instanceof OperationError) throw e;
    throw new OperationError(`${file}: cannot read it: ${errnoText(e)}`, errorCode(e));
  }
}

/**
 * The text of a small user-given file (a checksum or a sidecar), read through openRegular;
 * null when it does not exist; refused beyond `max` bytes.
 */
export async function readSmallRegular(file: string, max: number): Promise<string | null> {
  let f: RegularFile;
  try {
    f = await openRegular(file, { follow: true });
  } catch (e) {
    if (errnoOf(e) === 'ENOENT' || errnoOf(e) === 'ENOTDIR') return null;
    throw e;
  }
  try {
    if (f.st.size > max) throw new OperationError(`${file}: ${bytesWords(f.st.size)}; too large for what it should be (at most ${formatBytes(max)})`);
    const buf = Buffer.alloc(f.st.size);
    let done = 0;
    while (done < buf.length) {
      const { bytesRead } = await f.fh.read(buf, done, buf.length - done, done);
      if (bytesRead <= 0) break;
      done += bytesRead;
    }
    return buf.subarray(0, done).toString('utf8');
  } finally {
    await f.fh.close().catch(() => undefined);
  }
}

/**
 * Writes `parts` to the user-given path `file` without ever opening what is there: a FIFO, a
 * device, a socket, a folder or a symlink at `file` is refused (an OperationError naming it),
 * never waited on or written through. The bytes go to a new `.shmi-PID-HEX.tmp` beside it
 * (O_EXCL|O_NOFOLLOW|O_NONBLOCK), which then takes the name (rename): a reader never sees a
 * half-written file, and a failure leaves nothing behind. An existing file's mode is kept.
 */
export async function writeUserFile(file: string, parts: readonly Uint8Array[]): Promise<void> {
  const st = await fs.promises.lstat(file).catch((e: unknown) => {
    if (errnoOf(e) === 'ENOENT') return null;
    throw new OperationError(`${file}: cannot write it: ${errnoText(e)}`, errorCode(e));
  });
  if (st?.isSymbolicLink()) throw new OperationError(`${file}: a symbolic link; not followed, not replaced`);
  if (st && !st.isFile()) throw new OperationError(`${file}: ${kindWords(st)}, not a regular file; not written`);
  const tmp = tempBeside(path.dirname(file));
  const c = fs.constants;
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(tmp, c.O_CREAT | c.O_EXCL | c.O_WRONLY | c.O_NOFOLLOW | c.O_NONBLOCK, st ? st.mode & 0o7777 : 0o666);
  } catch (e) {
    throw new OperationError(`${file}: cannot write there: ${errnoText(e)}`, errorCode(e));
  }
  try {
    for (const p of parts) {
      for (let done = 0; done < p.length;) done += (await fh.write(p, done, p.length - done)).bytesWritten;
    }
    if (st) await fh.chmod(st.mode & 0o7777);
    await fh.close();
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await fs.promises.unlink(tmp).catch(() => undefined);
    throw new OperationError(`${file}: cannot write it: ${errnoText(e)}; nothing was left behind`, errorCode(e));
  }
}
