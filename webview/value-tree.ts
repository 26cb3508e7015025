/**
 * A list or struct cell as a tree (issue #16: "lists and structs compact, expandable on hover"):
 * the nodes a grid's popup shows, one level at a time, built from the cell's value as the host
 * sent it (nothing more is asked for). Leaves read as short text (long strings cut, the whole
 * kept for the hover); a level shows at most MAX_TREE_ITEMS children and says how many more.
 * Pure: no DOM (grid-pane.ts draws it, with textContent only).
 */
import type { TableCell } from '../contract/table';
import { formatFloat } from './table-grid';
import { displayText } from './text';

/** Characters of a string leaf shown (its title has it whole). */
export const MAX_TREE_TEXT = 120;
/** Children of one level shown; the rest are counted in a last line. */
export const MAX_TREE_ITEMS = 500;
/** Characters of a list's or struct's one-line preview. */
export const MAX_PREVIEW = 80;

export interface ValueNode {
  /** Its place in its parent: a struct field's name or a list index `[i]`; '' for the cell itself. */
  key: string;
  /** A leaf's text (cut), or a list's / struct's size: `[3 items]`, `{2 fields}`. */
  text: string;
  /** The whole text when `text` is cut, else ''. */
  title: string;
  /** How it reads (a list, a struct, or the kind of leaf). */
  cls: 'list' | 'struct' | 'null' | 'num' | 'str' | 'bool';
  /** A list's or struct's children, 0 for a leaf. */
  count: number;
  /** A list's or struct's items on one line, cut (`1, 2, 3`, `a: 1, b: "x"`); '' for a leaf. */
  preview: string;
  /** The value itself, for its children. */
  value: TableCell;
}

function isList(v: TableCell): v is TableCell[] {
  return Array.isArray(v);
}

function isStruct(v: TableCell): v is { [key: string]: TableCell } {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A leaf's whole text: numbers in the grid's format, strings quoted (display-escaped). */
function leafText(v: TableCell): string {
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : formatFloat(v);
  if (typeof v === 'string') return JSON.stringify(displayText(v));
  return String(v);
}

const plural = (n: number, one: string) => `${n.toLocaleString('en-US')} ${one}${n === 1 ? '' : 's'}`;

/** A value on one line, at most `max` characters (a cut ends with …): `[1, 2]`, `{a: 1, b: "x"}`. */
export function previewOf(v: TableCell, max = MAX_PREVIEW): string {
  let out = '';
  const add = (s: string): boolean => {
    out += s;
    return out.length <= max;
  };
  const walk = (x: TableCell): boolean => {
    if (isList(x)) {
      if (!add('[')) return false;
      for (let i = 0; i < x.length; i++) if ((i && !add(', ')) || !walk(x[i])) return false;
      return add(']');
    }
    if (isStruct(x)) {
      if (!add('{')) return false;
      const keys = Object.keys(x);
      for (let i = 0; i < keys.length; i++) if ((i && !add(', ')) || !add(`${displayText(keys[i])}: `) || !walk(x[keys[i]])) return false;
      return add('}');
    }
    const t = leafText(x);
    return add(t.length > max ? t.slice(0, max + 1) : t);
  };
  return walk(v) ? out : `${out.slice(0, max)}…`;
}

/** The node of value `v` at `key` in its parent. */
export function valueNode(v: TableCell, key = ''): ValueNode {
  if (isList(v)) {
    const inner = previewOf(v);
    return { key, text: `[${plural(v.length, 'item')}]`, title: '', cls: 'list', count: v.length, preview: inner, value: v };
  }
  if (isStruct(v)) {
    const n = Object.keys(v).length;
    return { key, text: `{${plural(n, 'field')}}`, title: '', cls: 'struct', count: n, preview: previewOf(v), value: v };
  }
  const whole = leafText(v);
  const cut = typeof v === 'string' && whole.length > MAX_TREE_TEXT;
  const cls = v === null ? 'null' : typeof v === 'number' ? 'num' : typeof v === 'boolean' ? 'bool' : 'str';
  return { key, text: cut ? `${whole.slice(0, MAX_TREE_TEXT)}…` : whole, title: cut ? whole : '', cls, count: 0, preview: '', value: v };
}

/** Whether a cell opens as a tree (a list or a struct, even an empty one). */
export function expandable(v: TableCell | undefined): boolean {
  return v !== undefined && v !== null && typeof v === 'object';
}

/** The children of a list or struct node: at most `limit` of them, and how many more there are. */
export function childNodes(node: ValueNode, limit = MAX_TREE_ITEMS): { nodes: ValueNode[]; more: number } {
  const v = node.value;
  if (isList(v)) {
    const n = Math.min(v.length, limit);
    return { nodes: Array.from({ length: n }, (_, i) => valueNode(v[i], `[${i}]`)), more: v.length - n };
  }
  if (isStruct(v)) {
    const keys = Object.keys(v);
    const n = Math.min(keys.length, limit);
    return { nodes: keys.slice(0, n).map((k) => valueNode(v[k], displayText(k))), more: keys.length - n };
  }
  return { nodes: [], more: 0 };
}
