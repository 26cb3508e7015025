/** Cells from stored bytes: the JSON forms `head` writes (types.ts, Cell), shared by every table source. */
import type { Cell } from './types';

const hexDigits = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function hex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += hexDigits[b[i]];
  return s;
}

/** A float as a cell: NaN and +-Inf as strings. */
export function floatCell(v: number): Cell {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  return v;
}

/** A 64-bit integer as a cell: a number while exact, a decimal string beyond 2^53. */
export function bigCell(v: bigint): Cell {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
}

/** IEEE half precision. */
export function f16(bits: number): number {
  const s = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const f = bits & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

const utf8Decoder = new TextDecoder('utf-8');
export function text(b: Uint8Array): string {
  return utf8Decoder.decode(b);
}

/** Two's complement little-endian integer of any width. */
export function bigLE(b: Uint8Array, at: number, width: number, signed = true, little = true): bigint {
  let v = 0n;
  for (let k = 0; k < width; k++) v = (v << 8n) | BigInt(b[at + (little ? width - 1 - k : k)]);
  if (signed && width > 0 && b[at + (little ? width - 1 : 0)] & 0x80) v -= 1n << BigInt(8 * width);
  return v;
}

/** An unscaled integer and a scale as exact decimal text: (12345, 2) -> "123.45". */
export function decimalText(v: bigint, scale: number): string {
  const neg = v < 0n;
  let digits = (neg ? -v : v).toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0');
    digits = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  } else if (scale < 0) digits += '0'.repeat(-scale);
  return neg ? `-${digits}` : digits;
}

const pad = (n: number | bigint, w: number) => String(n).padStart(w, '0');

/** Days since the epoch as YYYY-MM-DD (proleptic Gregorian, any year). */
export function dateText(days: number): string {
  const d = new Date(days * 86_400_000);
  if (Number.isNaN(d.getTime())) return String(days);
  return d.toISOString().slice(0, d.toISOString().indexOf('T'));
}

/** Digits of a fraction of a second, per unit: 0 (s), 3 (ms), 6 (us), 9 (ns). */
export const UNIT_DIGITS = [0, 3, 6, 9] as const;

/** Splits a count of `digits`-decimal sub-seconds into whole seconds and the fraction. */
function splitSeconds(v: bigint, digits: number): [bigint, bigint] {
  const per = 10n ** BigInt(digits);
  let s = v / per;
  let frac = v % per;
  if (frac < 0n) {
    frac += per;
    s -= 1n;
  }
  return [s, frac];
}

/** The offset of a named zone at an instant, in minutes (Intl), or null when the zone is unknown. */
const zoneFormats = new Map<string, Intl.DateTimeFormat | null>();
function zoneOffset(zone: string, ms: number): number | null {
  const fixed = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
  if (fixed) return (fixed[1] === '-' ? -1 : 1) * (Number(fixed[2]) * 60 + Number(fixed[3]));
  if (/^(utc|z|gmt|etc\/utc)$/i.test(zone)) return 0;
  let f = zoneFormats.get(zone);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      f = null;
    }
    if (zoneFormats.size < 64) zoneFormats.set(zone, f);
  }
  if (!f) return null;
  const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  const local = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second));
  return Math.round((local - Math.floor(ms / 1000) * 1000) / 60_000);
}

/**
 * An instant (or a naive date-time, zone null) as ISO 8601 with the unit's digits: seconds
 * `2024-01-02T03:04:05`, nanoseconds `...05.123456789`; a zone adds `Z` (UTC) or `+05:30` and
 * shows the local time there, as pandas prints a tz-aware Timestamp.
 */
export function timestampText(v: bigint, digits: number, zone: string | null): string {
  const [secs, frac] = splitSeconds(v, digits);
  let ms = Number(secs) * 1000;
  let suffix = '';
  if (zone !== null) {
    const off = zoneOffset(zone, ms);
    if (off === null) suffix = ` ${zone}`;
    else if (off === 0) suffix = 'Z';
    else {
      ms += off * 60_000;
      const a = Math.abs(off);
      suffix = `${off < 0 ? '-' : '+'}${pad(Math.floor(a / 60), 2)}:${pad(a % 60, 2)}`;
    }
  }
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return `${v} (${['s', 'ms', 'us', 'ns'][UNIT_DIGITS.indexOf(digits as 0)]} since the epoch, out of range)`;
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ, or ±YYYYYY-...
  const base = iso.slice(0, iso.lastIndexOf('.'));
  return `${base}${digits > 0 ? `.${pad(frac, digits)}` : ''}${suffix}`;
}

/** A time of day as HH:MM:SS[.fff...]. */
export function timeText(v: bigint, digits: number): string {
  const [secs, frac] = splitSeconds(v, digits);
  const s = Number(secs);
  const t = `${pad(Math.floor(s / 3600), 2)}:${pad(Math.floor(s / 60) % 60, 2)}:${pad(s % 60, 2)}`;
  return digits > 0 ? `${t}.${pad(frac, digits)}` : t;
}

/** Bytes as text: UTF-8 where valid and printable, other bytes `\xHH` (numpy `S` fields, ShareableList bytes are text-like). */
export function bytesText(b: Uint8Array): string {
  let out = '';
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    out += c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : c === 0x5c ? '\\\\' : `\\x${hexDigits[c]}`;
  }
  return out;
}
