/**
 * The tree of a list or struct cell in a grid (issue #16: "lists and structs compact, expandable on
 * hover"): it opens after the pointer rests on the cell, or on Enter/Space on the focused cell, under
 * the cell (above when there is more room), and shows the value the grid holds for it (value-tree.ts:
 * nothing more is asked for), its first level open, deeper lists and structs opened one level at a
 * time (a click, or the keys of an ARIA tree). Escape, leaving it, or scrolling the grid closes it.
 * Names and values go in by textContent only (they may be hostile markup).
 */
import type { TableCell } from '../contract/table';
import { displayText } from './text';
import { childNodes, expandable, valueNode, type ValueNode } from './value-tree';

/** Milliseconds a list or struct cell is hovered before its tree opens, and the grace for the pointer to reach the tree. */
const TREE_HOVER_MS = 300;
const TREE_LEAVE_MS = 250;

/** An element of `tag` with class `cls` holding `text` (as text: names and values may be hostile markup). */
export function textEl(tag: string, cls: string, text: string): HTMLElement {
  const e = document.createElement(tag);
  e.className = cls;
  e.textContent = text;
  return e;
}

export class ValuePopup {
  /** The popup (its owner puts it beside the grid, outside what each draw replaces). */
  readonly el: HTMLElement;
  /** The cell whose tree is open, or null. */
  private at: { row: number; col: number } | null = null;
  private openTimer: number | undefined;
  private closeTimer: number | undefined;
  /** The value of each tree item (for its children, made on demand). */
  private readonly nodes = new WeakMap<HTMLElement, ValueNode>();

  /**
   * @param rows the grid's cells (`.cell.expandable` with data-row and data-col open a tree)
   * @param lookup a cell's value as the grid holds it, and its column's name
   */
  constructor(
    private readonly rows: HTMLElement,
    private readonly lookup: (row: number, col: number) => { value: TableCell | undefined; column: string },
  ) {
    this.el = document.createElement('div');
    this.el.className = 'value-tree';
    this.el.hidden = true;
    this.listen();
  }

  /** Whether the tree of cell (row, col) is showing. */
  showsCell(row: number, col: number): boolean {
    return !this.el.hidden && this.at?.row === row && this.at.col === col;
  }

  /** On hover (after a delay) or Enter/Space; closed by Escape or by leaving. */
  private listen(): void {
    const rows = this.rows;
    const at = (t: EventTarget | null) => {
      const d = (t as HTMLElement | null)?.closest?.<HTMLElement>('.cell.expandable');
      return d ? { row: Number(d.dataset.row), col: Number(d.dataset.col), el: d } : null;
    };
    const same = (a: { row: number; col: number } | null, b: { row: number; col: number } | null) => !!a && !!b && a.row === b.row && a.col === b.col;
    // Over the cell shown: it stays. Over another list or struct cell: that one opens after the delay,
    // the one shown closes after the grace (sooner), unless the pointer reaches the tree first.
    rows.addEventListener('mouseover', (ev) => {
      const hit = at(ev.target);
      window.clearTimeout(this.openTimer);
      if (same(hit, this.at)) {
        window.clearTimeout(this.closeTimer);
        return;
      }
      this.closeSoon();
      if (!hit) return;
      this.openTimer = window.setTimeout(() => {
        const d = rows.querySelector<HTMLElement>(`.cell.expandable[data-row="${hit.row}"][data-col="${hit.col}"]`);
        if (d) this.open(d, false);
      }, TREE_HOVER_MS);
    });
    rows.addEventListener('mouseleave', (ev) => {
      if (this.el.contains(ev.relatedTarget as Node | null)) return;
      window.clearTimeout(this.openTimer);
      this.closeSoon();
    });
    rows.addEventListener('keydown', (ev) => {
      const hit = at(ev.target);
      if (!hit || ev.target !== hit.el || (ev.key !== 'Enter' && ev.key !== ' ')) return;
      ev.preventDefault();
      this.open(hit.el, true);
    });
    this.el.addEventListener('mouseenter', () => {
      window.clearTimeout(this.closeTimer);
      window.clearTimeout(this.openTimer);
    });
    this.el.addEventListener('mouseleave', (ev) => {
      if (!same(at(ev.relatedTarget), this.at)) this.closeSoon();
    });
    this.el.addEventListener('click', (ev) => {
      const item = (ev.target as HTMLElement).closest<HTMLElement>('[role="treeitem"]');
      if (item && (ev.target as HTMLElement).closest('.vt-line')) this.toggleItem(item);
    });
    this.el.addEventListener('keydown', (ev) => this.treeKey(ev));
    document.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && !this.el.hidden) {
        ev.preventDefault();
        this.close(true);
      }
    });
  }

  /** Closes the tree shown after the grace (the pointer may be on its way to it). */
  private closeSoon(): void {
    window.clearTimeout(this.closeTimer);
    if (!this.el.hidden) this.closeTimer = window.setTimeout(() => this.close(false), TREE_LEAVE_MS);
  }

  /** Closes the tree; `refocus`: the focus goes back to its cell (when it was in the tree). */
  close(refocus: boolean): void {
    window.clearTimeout(this.openTimer);
    window.clearTimeout(this.closeTimer);
    const was = this.at;
    const hadFocus = this.el.contains(document.activeElement);
    this.at = null;
    if (this.el.hidden) return;
    this.el.hidden = true;
    this.el.replaceChildren();
    const d = was && this.rows.querySelector<HTMLElement>(`.cell[data-row="${was.row}"][data-col="${was.col}"]`);
    d?.setAttribute('aria-expanded', 'false');
    if (d && (refocus || hadFocus)) d.focus({ preventScroll: true });
  }

  /** Opens the tree of cell element `d` beside it, its first level shown; `focus`: the keyboard goes into it. */
  open(d: HTMLElement, focus: boolean): void {
    const row = Number(d.dataset.row);
    const col = Number(d.dataset.col);
    const { value, column } = this.lookup(row, col);
    if (!expandable(value)) return;
    this.close(false);
    this.at = { row, col };
    const pop = this.el;
    const name = displayText(column);
    const caption = textEl('div', 'vt-caption', `row ${row} · ${name}`);
    const tree = document.createElement('div');
    tree.setAttribute('role', 'tree');
    tree.setAttribute('aria-label', `Value of ${name} at row ${row}`);
    const root = this.treeItem(valueNode(value!), 1);
    tree.append(root);
    this.toggleItem(root);
    pop.replaceChildren(caption, tree);
    pop.dataset.row = String(row);
    pop.dataset.col = String(col);
    pop.hidden = false;
    d.setAttribute('aria-expanded', 'true');
    this.place(d);
    if (focus) root.focus({ preventScroll: true });
  }

  /** Puts the tree under its cell (above it when there is more room there), inside the grid's box. */
  private place(d: HTMLElement): void {
    const pop = this.el;
    const box = pop.parentElement;
    if (!box) return;
    const b = box.getBoundingClientRect();
    const c = d.getBoundingClientRect();
    const below = b.bottom - c.bottom;
    const above = c.top - b.top;
    pop.style.maxHeight = `${Math.max(80, Math.max(below, above) - 8)}px`;
    const h = pop.offsetHeight;
    // Touching the cell: no gap over another cell for the pointer to cross on its way to the tree.
    const top = h <= below - 4 || below >= above ? c.bottom - b.top - 1 : c.top - b.top - h + 1;
    const left = Math.max(0, Math.min(c.left - b.left, box.clientWidth - pop.offsetWidth - 4));
    Object.assign(pop.style, { left: `${left}px`, top: `${Math.max(0, top)}px` });
  }

  /** A tree item: its line (twisty, key, text, preview); its children are made when it is first expanded. */
  private treeItem(n: ValueNode, level: number): HTMLElement {
    const item = document.createElement('div');
    item.setAttribute('role', 'treeitem');
    item.setAttribute('aria-level', String(level));
    item.tabIndex = -1;
    item.className = `vt-item ${n.cls}`;
    const line = document.createElement('div');
    line.className = 'vt-line';
    line.style.paddingLeft = `${(level - 1) * 14 + 4}px`;
    const twisty = textEl('span', 'vt-twisty', n.count > 0 ? '▸' : '');
    const parts: HTMLElement[] = [twisty];
    if (n.key) parts.push(textEl('span', 'vt-key', `${n.key}:`));
    const text = textEl('span', `vt-text ${n.cls}`, n.text);
    if (n.title) text.title = n.title;
    parts.push(text);
    if (n.count > 0) {
      item.setAttribute('aria-expanded', 'false');
      parts.push(textEl('span', 'vt-preview', n.preview));
    }
    line.append(...parts);
    item.append(line);
    this.nodes.set(item, n);
    return item;
  }

  /** Expands or collapses a list or struct item (its children one level down, made the first time). */
  private toggleItem(item: HTMLElement, open?: boolean): void {
    const n = this.nodes.get(item);
    if (!n || n.count === 0) return;
    const expanded = item.getAttribute('aria-expanded') === 'true';
    const want = open ?? !expanded;
    if (want === expanded) return;
    item.setAttribute('aria-expanded', String(want));
    item.querySelector(':scope > .vt-line > .vt-twisty')!.textContent = want ? '▾' : '▸';
    let group = item.querySelector<HTMLElement>(':scope > [role="group"]');
    if (want && !group) {
      group = document.createElement('div');
      group.setAttribute('role', 'group');
      const level = Number(item.getAttribute('aria-level')) + 1;
      const { nodes, more } = childNodes(n);
      group.append(...nodes.map((c) => this.treeItem(c, level)));
      if (more > 0) {
        const rest = textEl('div', 'vt-more', `… ${more.toLocaleString('en-US')} more`);
        rest.style.paddingLeft = `${(level - 1) * 14 + 18}px`;
        group.append(rest);
      }
      item.append(group);
    }
    if (group) group.hidden = !want;
    // Wider now, perhaps: still inside the grid's box.
    const box = this.el.parentElement;
    if (box && !this.el.hidden) this.el.style.left = `${Math.max(0, Math.min(this.el.offsetLeft, box.clientWidth - this.el.offsetWidth - 4))}px`;
  }

  /** The tree's keys: ↑/↓ move, → expands (or goes in), ← collapses (or goes up), Enter/Space toggle, Home/End. */
  private treeKey(ev: KeyboardEvent): void {
    const item = (ev.target as HTMLElement).closest<HTMLElement>('[role="treeitem"]');
    if (!item) return;
    const items = [...this.el.querySelectorAll<HTMLElement>('[role="treeitem"]')].filter((e) => e.offsetParent !== null);
    const i = items.indexOf(item);
    const go = (e: HTMLElement | undefined) => e?.focus({ preventScroll: false });
    const expanded = item.getAttribute('aria-expanded');
    switch (ev.key) {
      case 'ArrowDown':
        go(items[i + 1]);
        break;
      case 'ArrowUp':
        go(items[i - 1]);
        break;
      case 'Home':
        go(items[0]);
        break;
      case 'End':
        go(items[items.length - 1]);
        break;
      case 'ArrowRight':
        if (expanded === 'false') this.toggleItem(item, true);
        else if (expanded === 'true') go(items[i + 1]);
        break;
      case 'ArrowLeft':
        if (expanded === 'true') this.toggleItem(item, false);
        else go(item.parentElement?.closest<HTMLElement>('[role="treeitem"]') ?? undefined);
        break;
      case 'Enter':
      case ' ':
        this.toggleItem(item);
        break;
      default:
        return;
    }
    ev.preventDefault();
    ev.stopPropagation();
  }
}
