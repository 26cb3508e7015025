/**
 * The memory picture webview: asks the host for the treemap at its size (again every few
 * seconds, and after a resize), draws it with hover values, picks a family for the timeline on
 * click, and draws the timeline as its points stream in. Built on the viewer's parts: the
 * container (requests, timers), the settings store (the watched family survives a reload), the
 * theme and tooltip helpers; its messages are contract/picture.ts.
 */
import { formatBytes } from '../contract/bytes';
import {
  isLastPictureReply,
  isTimelineMember,
  isTimelinePoint,
  MEMORY_KINDS,
  validatePictureHostMessage,
  type MemoryKind,
  type PictureHostMessage,
  type PictureMessage,
  type PictureRect,
  type TimelineMember,
  type TimelinePoint,
} from '../contract/picture';
import { Container, type PostApi } from './container';
import { byId } from './controls';
import { fillTooltip } from './draw';
import {
  buildSeries,
  drawTimeline,
  drawTreemap,
  fitCanvas,
  pointAt,
  pointTooltip,
  readPictureColors,
  rectAt,
  rectTooltip,
  timelineFrame,
  type PictureColors,
  type Series,
  type TimelineFrame,
} from './picture-draw';
import { readTheme, type Theme } from './plot';
import { SettingsStore, type StateApi } from './store';

/** Seconds between treemap refreshes while the panel is shown. */
const TREEMAP_EVERY_MS = 5000;

/** Timeline points kept across a reload (the last ones; at a point a member a second, over ten minutes of ten members). */
const SAVED_POINTS = 6000;

interface PictureState {
  /** The family whose timeline is shown. */
  root: number | null;
  /** Its timeline so far, so that a reloaded window goes on from it rather than starting afresh. */
  label?: string;
  points?: TimelinePoint[];
  members?: TimelineMember[];
}

function checkState(raw: unknown): PictureState | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const r = raw as { root?: unknown; label?: unknown; points?: unknown; members?: unknown };
  const root = typeof r.root === 'number' && Number.isSafeInteger(r.root) && r.root > 0 ? r.root : null;
  const state: PictureState = { root };
  if (root !== null && Array.isArray(r.points) && Array.isArray(r.members)) {
    state.points = r.points.filter(isTimelinePoint).slice(-SAVED_POINTS);
    state.members = r.members.filter(isTimelineMember);
    state.label = typeof r.label === 'string' ? r.label : `PID ${root}`;
  }
  return state;
}

type Treemap = Extract<PictureHostMessage, { type: 'treemap' }>;

export class PictureViewer {
  private readonly container: Container<PictureMessage, PictureHostMessage>;
  private readonly store: SettingsStore<PictureState>;
  private readonly el = {
    info: byId('info'),
    status: byId('status'),
    notice: byId('notice'),
    legend: byId('legend'),
    treemap: byId<HTMLCanvasElement>('treemap'),
    treemapBox: byId('treemap-box'),
    timeline: byId<HTMLCanvasElement>('timeline'),
    timelineBox: byId('timeline-box'),
    timelineTitle: byId('timeline-title'),
    timelineInfo: byId('timeline-info'),
    timelineEmpty: byId('timeline-empty'),
    tooltip: byId('tooltip'),
    /** Said by screen readers, not shown: the rectangle the keyboard stepped to. */
    announce: byId('announce'),
    exportPng: byId<HTMLButtonElement>('export-png'),
  };
  private theme: Theme = readTheme();
  private colors: PictureColors = readPictureColors();
  private map: Treemap | null = null;
  private hoverRect: PictureRect | null = null;
  private members: TimelineMember[] = [];
  private points: TimelinePoint[] = [];
  private timeline: { root: number; label: string; done: boolean; exactOn: boolean } | null = null;
  /** The timeline saved before a reload, until the host's first reply for that family (which then adds to it). */
  private restored: { root: number; members: TimelineMember[] } | null = null;
  private series: Series[] = [];
  private frame: TimelineFrame | null = null;
  private hoverPoint: TimelinePoint | null = null;

  constructor(api: PostApi & StateApi) {
    this.container = new Container<PictureMessage, PictureHostMessage>(api, {
      validate: validatePictureHostMessage,
      isLast: isLastPictureReply,
      onMessage: (m) => this.onMessage(m),
    });
    this.store = new SettingsStore<PictureState>(api, checkState, { root: null });
  }

  start(): void {
    this.container.listen(window);
    this.legend();
    this.wire();
    this.container.send({ type: 'ready' });
    this.requestTreemap();
    this.container.every('treemap', TREEMAP_EVERY_MS, () => this.requestTreemap());
    const saved = this.store.saved();
    this.store.replace(saved ?? { root: null });
    if (saved?.root) {
      this.watch(saved.root);
      if (saved.points && saved.members) {
        // The history before the reload, drawn at once; the host's replies go on from it.
        this.timeline!.label = saved.label ?? this.timeline!.label;
        this.points = saved.points;
        this.members = saved.members;
        this.restored = { root: saved.root, members: saved.members };
        this.describeTimeline();
      }
    }
    // The theme changed: VS Code sets new variables on the body.
    new MutationObserver(() => {
      this.theme = readTheme();
      this.colors = readPictureColors();
      this.legend();
      this.redraw();
    }).observe(document.body, { attributes: true, attributeFilter: ['class', 'style'] });
  }

  private wire(): void {
    const resize = new ResizeObserver(() => {
      this.redraw();
      this.container.debounce('treemap', () => this.requestTreemap(), 150, 600);
    });
    resize.observe(this.el.treemapBox);
    resize.observe(this.el.timelineBox);
    const tm = this.el.treemap;
    tm.addEventListener('mousemove', (e) => {
      const r = this.map ? rectAt(this.map.rects, e.offsetX, e.offsetY) : null;
      if (r !== this.hoverRect) {
        this.hoverRect = r;
        this.drawTreemap();
      }
      if (r && this.map) this.tooltip(rectTooltip(r, this.map.totalBytes), e);
      else this.el.tooltip.hidden = true;
    });
    tm.addEventListener('mouseleave', () => {
      this.hoverRect = null;
      this.el.tooltip.hidden = true;
      this.drawTreemap();
    });
    tm.addEventListener('click', (e) => {
      const r = this.map ? rectAt(this.map.rects, e.offsetX, e.offsetY) : null;
      if (r) this.pick(r);
    });
    // The keyboard: arrows (and Home/End) step through the top-level rectangles, largest first, with
    // their hover; Enter or Space picks one as a click does.
    tm.addEventListener('keydown', (e) => {
      const top = this.map ? this.map.rects.filter((r) => r.depth === 0) : [];
      if (top.length === 0) return;
      const at = this.hoverRect ? top.findIndex((r) => r.id === this.hoverRect!.id) : -1;
      const step: Record<string, number> = { ArrowRight: at + 1, ArrowDown: at + 1, ArrowLeft: at - 1, ArrowUp: at - 1, Home: 0, End: top.length - 1 };
      if ((e.key === 'Enter' || e.key === ' ') && at >= 0) {
        e.preventDefault();
        this.pick(top[at]);
        return;
      }
      if (!(e.key in step)) return;
      e.preventDefault();
      const r = top[Math.max(0, Math.min(top.length - 1, at < 0 && e.key.startsWith('Arrow') ? 0 : step[e.key]))];
      this.hoverRect = r;
      this.drawTreemap();
      const box = tm.getBoundingClientRect();
      this.tooltip(rectTooltip(r, this.map!.totalBytes), { clientX: box.left + r.x + Math.min(r.w / 2, 60), clientY: box.top + r.y + Math.min(r.h / 2, 30) });
      tm.dataset.focused = r.id;
      this.el.announce.textContent = `${r.label}: ${formatBytes(r.bytes)} PSS (${top.indexOf(r) + 1} of ${top.length}; Enter watches a family)`;
    });
    tm.addEventListener('blur', () => {
      this.el.tooltip.hidden = true;
    });
    const tl = this.el.timeline;
    tl.addEventListener('mousemove', (e) => {
      const hit = this.frame ? pointAt(this.series, this.frame, e.offsetX, e.offsetY) : null;
      this.hoverPoint = hit?.point ?? null;
      this.drawTimeline();
      if (hit) this.tooltip(pointTooltip(hit.point, hit.series, Date.now()), e);
      else this.el.tooltip.hidden = true;
    });
    tl.addEventListener('mouseleave', () => {
      this.hoverPoint = null;
      this.el.tooltip.hidden = true;
      this.drawTimeline();
    });
    this.el.exportPng.addEventListener('click', () => this.exportPng());
  }

  private requestTreemap(): void {
    const w = Math.floor(this.el.treemapBox.clientWidth);
    const h = Math.floor(this.el.treemapBox.clientHeight);
    if (w >= 1 && h >= 1) this.container.request({ type: 'treemap', width: w, height: h });
  }

  private watch(root: number): void {
    if (this.timeline?.root === root && !this.timeline.done) return;
    this.timeline = { root, label: `PID ${root}`, done: false, exactOn: false };
    this.members = [];
    this.points = [];
    this.restored = null;
    // Another family: its own state (the same one, restored after a reload, keeps the history saved).
    if (this.store.state.root !== root) this.store.replace({ root });
    this.container.request({ type: 'watch', root });
    this.describeTimeline();
    this.redraw();
  }

  private onMessage(m: PictureHostMessage): void {
    switch (m.type) {
      case 'treemap':
        this.map = m;
        document.body.dataset.state = 'ready';
        this.el.info.textContent = [
          `RAM in use ${formatBytes(m.memUsed)} of ${formatBytes(m.memTotal)}`,
          `processes' PSS ${formatBytes(m.totalBytes)}`,
          `${m.processes} processes${m.uninspectable > 0 ? ` (${m.uninspectable} not inspectable)` : ''}`,
        ].join(' · ');
        this.el.status.textContent = `read ${new Date(m.scannedAtMs).toLocaleTimeString()}`;
        this.el.treemap.dataset.rects = String(m.rects.length);
        this.el.treemap.dataset.top = JSON.stringify(
          m.rects.filter((r) => r.depth === 0).map((r) => ({ id: r.id, x: r.x, y: r.y, w: r.w, h: r.h, bytes: r.bytes })),
        );
        this.drawTreemap();
        break;
      case 'timeline':
        if (!this.timeline || this.timeline.root !== m.root) this.timeline = { root: m.root, label: m.label, done: m.done, exactOn: m.exactOn };
        Object.assign(this.timeline, { label: m.label, done: m.done, exactOn: m.exactOn });
        if (m.reset && this.restored?.root === m.root) {
          // The first reply after a reload: added to the saved history; members that exited meanwhile keep their lines, ended.
          const now = new Set(m.members.map((x) => x.pid));
          const last = (pid: number) => this.points.reduce((t, p) => (p.pid === pid && p.t > t ? p.t : t), 0);
          const gone = this.restored.members.filter((x) => !now.has(x.pid)).map((x) => ({ ...x, endMs: x.endMs ?? last(x.pid) }));
          this.members = [...m.members, ...gone];
        } else {
          if (m.reset) this.points = [];
          this.members = m.members;
        }
        this.restored = null;
        this.points.push(...m.points);
        if (this.points.length > 4 * SAVED_POINTS) this.points = this.points.slice(-2 * SAVED_POINTS);
        this.store.state.root = m.root;
        // Saved now and then (a window reload goes on from here), not at every point.
        this.container.debounce('save-timeline', () => this.saveTimeline(), 1000, 5000);
        this.describeTimeline();
        this.drawTimeline();
        this.drawTreemap();
        break;
      case 'select':
        this.watch(m.root);
        break;
      case 'notice':
        this.notice(m.level, m.message);
        break;
    }
  }

  /** A rectangle clicked (or picked with Enter): its family's timeline, or why a lone process has none. */
  private pick(r: PictureRect): void {
    if (r.family !== undefined) this.watch(r.family);
    else if (r.pid !== undefined)
      this.notice('info', `${r.label} is in no fork family: it has no forked child and was not forked (or it exec'd), so it shares no anonymous memory.`);
  }

  private notice(level: 'info' | 'warning' | 'error', message: string): void {
    const n = this.el.notice;
    n.hidden = false;
    n.className = level;
    n.textContent = message;
  }

  /** Shows the tooltip beside a pointer position (the mouse's, or a rectangle's picked with the keyboard). */
  private tooltip(rows: [string, string, string?][], e: { clientX: number; clientY: number }): void {
    const t = this.el.tooltip;
    fillTooltip(t, rows);
    t.hidden = false;
    const pad = 14;
    const x = e.clientX + pad + t.offsetWidth > window.innerWidth ? e.clientX - pad - t.offsetWidth : e.clientX + pad;
    const y = e.clientY + pad + t.offsetHeight > window.innerHeight ? e.clientY - pad - t.offsetHeight : e.clientY + pad;
    t.style.left = `${Math.max(0, x)}px`;
    t.style.top = `${Math.max(0, y)}px`;
  }

  private legend(): void {
    this.el.legend.replaceChildren(
      ...(Object.keys(MEMORY_KINDS) as MemoryKind[]).map((k) => {
        const s = document.createElement('span');
        const sw = document.createElement('span');
        sw.className = 'swatch';
        sw.style.background = this.colors.kinds[k];
        s.append(sw, MEMORY_KINDS[k]);
        return s;
      }),
    );
  }

  private saveTimeline(): void {
    const t = this.timeline;
    if (!t || this.store.state.root !== t.root) return;
    Object.assign(this.store.state, { label: t.label, points: this.points.slice(-SAVED_POINTS), members: this.members });
    this.store.save();
  }

  private describeTimeline(): void {
    const t = this.timeline;
    this.el.timelineEmpty.hidden = t !== null;
    if (!t) return;
    const kids = this.members.filter((m) => !m.root);
    const running = kids.filter((m) => m.endMs === null).length;
    this.el.timelineTitle.textContent = `${t.label} over time`;
    const exact = this.points.filter((p) => p.exact).length;
    const parts = [
      t.done ? 'the family has ended' : `${running} forked member${running === 1 ? '' : 's'} running`,
      t.exactOn
        ? `dots: exact (pagemap), ${exact} so far; dashed: estimate from smaps every second`
        : 'dashed: estimate from smaps every second (exact counts need CAP_SYS_ADMIN)',
    ];
    if (kids.length === 0 && !t.done) parts.unshift('no forked child yet');
    this.el.timelineInfo.textContent = parts.join(' · ');
    this.el.timeline.dataset.points = String(this.points.length);
    this.el.timeline.dataset.exact = String(exact);
    this.el.timeline.dataset.root = String(t.root);
  }

  private redraw(): void {
    this.drawTreemap();
    this.drawTimeline();
  }

  private drawTreemap(): void {
    const ctx = fitCanvas(this.el.treemap, window.devicePixelRatio || 1);
    if (!this.map) return;
    // Laid out for another size (a resize under way): scaled until the new layout comes.
    const sx = this.el.treemap.clientWidth / this.map.width;
    const sy = this.el.treemap.clientHeight / this.map.height;
    ctx.scale(sx, sy);
    drawTreemap(ctx, this.map.rects, this.theme, this.colors, { watched: this.timeline?.root ?? null, hover: this.hoverRect });
  }

  private drawTimeline(): void {
    const c = this.el.timeline;
    const ctx = fitCanvas(c, window.devicePixelRatio || 1);
    if (!this.timeline) {
      this.frame = null;
      return;
    }
    this.series = buildSeries(this.members, this.points, this.colors);
    this.frame = timelineFrame(this.series, c.clientWidth, c.clientHeight, Date.now());
    drawTimeline(ctx, this.series, this.frame, this.theme, this.hoverPoint);
    this.memberLegend(ctx);
  }

  /** The members' colours, right of the timeline. */
  private memberLegend(ctx: CanvasRenderingContext2D): void {
    ctx.font = this.theme.font;
    ctx.textBaseline = 'top';
    ctx.textAlign = 'right';
    let y = 8;
    if (this.frame && this.frame.right + 20 < this.el.timeline.clientWidth - 14) {
      ctx.fillStyle = this.theme.muted;
      ctx.fillText('member · copied now', this.el.timeline.clientWidth - 14, y);
      y += 17;
    }
    for (const s of this.series.slice(0, 12)) {
      ctx.fillStyle = s.color;
      const last = [...s.estimate, ...s.exact].sort((a, b) => a.t - b.t).at(-1);
      const text = `${s.member.comm} ${s.member.pid}${s.member.endMs !== null ? ' (exited)' : ''}${last ? ` · ${formatBytes(last.copiedBytes)}${last.exact ? '' : ' ~'}` : ''}`;
      ctx.fillText(text, this.el.timeline.clientWidth - 14, y);
      y += 15;
    }
    if (this.series.length > 12) ctx.fillText(`+ ${this.series.length - 12} more`, this.el.timeline.clientWidth - 14, y);
    ctx.textAlign = 'left';
  }

  /** The header line, the treemap and the timeline as one PNG, saved by the host. */
  private exportPng(): void {
    const dpr = window.devicePixelRatio || 1;
    const head = 28;
    const gap = 22;
    const tm = this.el.treemap;
    const tl = this.el.timeline;
    const W = Math.max(tm.clientWidth, tl.clientWidth);
    const c = document.createElement('canvas');
    c.width = Math.round(W * dpr);
    c.height = Math.round((head + tm.clientHeight + gap + tl.clientHeight) * dpr);
    const ctx = c.getContext('2d') as CanvasRenderingContext2D;
    ctx.fillStyle = this.theme.background;
    ctx.fillRect(0, 0, c.width, c.height);
    ctx.scale(dpr, dpr);
    ctx.fillStyle = this.theme.fg;
    ctx.textBaseline = 'middle';
    ctx.font = `600 ${this.theme.font}`;
    ctx.fillText(`Memory picture · ${this.el.info.textContent ?? ''}`, 8, head / 2);
    ctx.font = this.theme.font;
    if (this.timeline) ctx.fillText(`${this.el.timelineTitle.textContent ?? ''} · ${this.el.timelineInfo.textContent ?? ''}`, 8, head + tm.clientHeight + gap / 2);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.drawImage(tm, 0, Math.round(head * dpr));
    ctx.drawImage(tl, 0, Math.round((head + tm.clientHeight + gap) * dpr));
    const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
    this.container.send({ type: 'exportPng', dataUrl: c.toDataURL('image/png'), suggestedName: `memory-picture-${stamp}.png` });
  }
}
