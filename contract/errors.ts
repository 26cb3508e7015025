// The error codes that the addon, the core, the CLI, the extension and the
// webview share. A decision about an error is made by its code, never by its
// message text. One registry, `as const`; the type and the validator derive
// from it. Append codes; never rename one (scripts read them in JSON).
import { isKeyOf } from './registry';

/** Every stable error code, with what it means (for docs and hovers). */
export const ERROR_CODES = {
  // Operating-system errors, spelled as errno names (the addon uses strerrorname_np).
  ENOENT: 'no such file, segment or process (it vanished)',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EEXIST: 'the name is taken',
  EINVAL: 'invalid argument',
  ELOOP: 'a symbolic link, not followed',
  ENOTEMPTY: 'the folder is not empty',
  ENAMETOOLONG: 'the name is too long',
  ENOSPC: 'no space left on the filesystem',
  ENOMEM: 'out of memory or address space',
  EBUSY: 'busy',
  EIO: 'input/output error (or an unnamed OS error)',
  EISDIR: 'a folder where a file was expected',
  ENOTDIR: 'not a folder (where a folder was expected)',
  // The addon's own.
  CANCELLED: 'cancelled (by the user, or superseded by a newer request)',
  CLOSED: 'the view was closed',
  CHANGED: 'the name now points to another file than the one decoded',
  SHRANK: 'the segment shrank or vanished while it was read (SIGBUS)',
  NOSPACE: 'the filesystem is full: a page could not be allocated (SIGBUS)',
  FAULT: 'a memory fault while reading the mapping',
  RANGE: 'an offset or length outside the segment',
  NOTFILE: 'not a regular file',
  DISPLACED: 'a removal found another file under the name and kept it aside',
  // The core's own.
  USAGE: 'bad input from the user (CLI exit 2)',
  FORMAT: 'the header or layout is malformed or unsupported',
  NOT_ARRAY: 'the segment is not an array that can be shown',
  UNREADABLE: 'the segment could not be read',
  EXISTS: 'the target already exists',
  INTERNAL: 'a bug: an error without a code',
  // Appended (issue #13 item 1).
  FAILED: 'the operation failed or was refused for the reason its message gives (CLI exit 1)',
  SELECTION: 'the part of an array asked for (tensor, column, axes, index, dtype) does not exist or cannot be drawn',
  NATIVE: 'the native addon could not be loaded',
  NONS: 'another namespace (IPC, mount) could not be entered: no privilege, or its last process is gone',
  // Appended (issue #16 item 2: compressed Arrow buffers).
  DECOMPRESS: 'a compressed buffer could not be decompressed (a corrupt or truncated frame)',
  LENGTH_MISMATCH: 'a compressed buffer decompresses to more or fewer bytes than it declares',
  OVER_BUDGET: 'bigger than the memory budget kept for it (a decompressed buffer)',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export const isErrorCode = isKeyOf(ERROR_CODES);
