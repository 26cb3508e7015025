/**
 * The core's error base class and the one way to read an error's code. Every error the core,
 * the CLI and the extension make on purpose is a ShmError carrying a stable `code` from the
 * registry (contract/errors.ts); the addon's rejections carry one too (native/src/common.h), and
 * Node's fs errors carry their errno name. Decisions about an error (an exit code, an icon, a
 * retry, a prompt) are made by `errorCode(e)` or by class, never by the message text.
 */
import { getSystemErrorMap } from 'util';
import { isErrorCode, type ErrorCode } from '../../contract/errors';

export type { ErrorCode } from '../../contract/errors';

/** An error with a stable code beside its message (the message is the one-line reason for a person). */
export class ShmError extends Error {
  constructor(
    message: string,
    readonly code: ErrorCode,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The segment is not an array that can be shown (a folder, a semaphore, an undecodable file). */
export class NotAnArrayError extends ShmError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'NOT_ARRAY', options);
  }
}

/** The registry's operating-system codes (errno names), as opposed to the addon's and the core's own. */
const OS_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'ENOENT',
  'EACCES',
  'EPERM',
  'EEXIST',
  'EINVAL',
  'ELOOP',
  'ENOTEMPTY',
  'ENAMETOOLONG',
  'ENOSPC',
  'ENOMEM',
  'EBUSY',
  'EIO',
  'EISDIR',
  'ENOTDIR',
]);

/** Whether a code is an errno name (ENOENT...), not one of the addon's or the core's own (EXISTS, FAILED...). */
export function isOsCode(code: ErrorCode): boolean {
  return OS_CODES.has(code);
}

/** Errno names that the registry spells otherwise (same meaning for a user). */
const ERRNO_ALIASES: Partial<Record<string, ErrorCode>> = {
  EIDRM: 'EINVAL', // a System V segment removed while it was looked at: gone, as EINVAL says
  ESRCH: 'ENOENT', // a process that exited
  ESTALE: 'ENOENT', // a folder replaced since it was opened
  EFAULT: 'FAULT',
  EROFS: 'EPERM',
  EDQUOT: 'ENOSPC',
  EMFILE: 'ENOMEM',
  ENFILE: 'ENOMEM',
  ABORT_ERR: 'CANCELLED', // Node's AbortError (an AbortSignal fired)
};

/** A code as the system spells it (`E` and capitals): an errno name. */
const ERRNO_NAME = /^E[A-Z0-9]+$/;

/**
 * The stable code of any thrown value: a ShmError's own; an addon rejection's or a Node fs
 * error's `code` (an errno name, mapped onto the registry; an errno the registry lacks is EIO);
 * an AbortError is CANCELLED; anything else (a bug, a TypeError) is INTERNAL.
 */
export function errorCode(e: unknown): ErrorCode {
  if (e instanceof ShmError) return e.code;
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  if (isErrorCode(code)) return code;
  if (typeof code === 'string') {
    const alias = ERRNO_ALIASES[code];
    if (alias) return alias;
    if (ERRNO_NAME.test(code)) return 'EIO';
  }
  if (e instanceof Error && e.name === 'AbortError') return 'CANCELLED';
  return 'INTERNAL';
}

/** The code of `e` when it has one, else `fallback` (for a caller that knows what failed). */
export function errorCodeOr(e: unknown, fallback: ErrorCode): ErrorCode {
  const c = errorCode(e);
  return c === 'INTERNAL' ? fallback : c;
}

/**
 * A segment's `errorCode` beside its `error` (docs/cli.md): null exactly when there is no error;
 * FORMAT for an error without a code (a decoder's: the bytes were read and are malformed).
 */
export function codeBeside(error: string | null, code: ErrorCode | null | undefined): ErrorCode | null {
  return error === null ? null : (code ?? 'FORMAT');
}

/**
 * Whether a segment's code says its bytes could not be read at all (permission, vanished, a
 * refused attach, an I/O error), rather than read and found malformed or not a file.
 */
export function isReadFailure(code: ErrorCode | null | undefined): boolean {
  return code != null && code !== 'FORMAT' && code !== 'NOTFILE' && code !== 'NOT_ARRAY';
}

/**
 * What the system says of a Node fs error's errno (`no such file or directory`), from the errno
 * number rather than from the message (which adds the call and the path); null without one.
 */
export function errnoWords(e: unknown): string | null {
  const errno = typeof e === 'object' && e !== null ? (e as { errno?: unknown }).errno : undefined;
  return typeof errno === 'number' ? (getSystemErrorMap().get(errno)?.[1] ?? null) : null;
}

/** The message of any thrown value. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Permission denied, in either of its spellings (EACCES by mode, EPERM by policy or capability). */
export function isPermissionCode(code: ErrorCode | null | undefined): boolean {
  return code === 'EACCES' || code === 'EPERM';
}

/**
 * `message` said about `name`: prefixed with `name: ` unless it already starts so. Presentation
 * only (no error is told from another by this); keeps a name from being repeated in one line.
 */
export function aboutName(name: string, message: string): string {
  return message === name || message.startsWith(`${name}: `) || message.startsWith(`${name} `) ? message : `${name}: ${message}`;
}
