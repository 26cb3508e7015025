/**
 * Mouse, wheel and keyboard on the plot: wheel zoom about the cursor, drag pan,
 * shift-drag box zoom, double-click reset, arrows/+/-/0 from the keyboard, and
 * hover. Positions are handed over in the plot canvas's CSS pixels.
 */
import { boxZoom, panBy, toCells, zoomAt, type Extent, type Viewport } from './viewport';

export interface InteractionHost {
  viewport(): Viewport;
  extent(): Extent;
  /** Plot size in CSS pixels. */
  size(): { w: number; h: number };
  lockAspect(): boolean;
  /** 'x' for line plots (zoom and pan the columns only). */
  axes(): 'xy' | 'x';
  setViewport(vp: Viewport): void;
  reset(): void;
  hover(px: number, py: number): void;
  leave(): void;
}

/** Zoom factor per wheel notch (deltaY = 100). */
const WHEEL_ZOOM = 1.25;

export function attachInteraction(canvas: HTMLCanvasElement, overlay: HTMLCanvasElement, host: InteractionHost): void {
  let drag: { x: number; y: number; vp: Viewport; box: boolean; moved: boolean; id: number } | null = null;

  const local = (e: MouseEvent) => {
    const r = canvas.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  };

  const clearOverlay = () => {
    const ctx = overlay.getContext('2d') as CanvasRenderingContext2D;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, overlay.width, overlay.height);
  };

  const drawBox = (x0: number, y0: number, x1: number, y1: number) => {
    clearOverlay();
    const ctx = overlay.getContext('2d') as CanvasRenderingContext2D;
    const k = overlay.width / Math.max(1, host.size().w);
    ctx.setTransform(k, 0, 0, k, 0, 0);
    const x = Math.min(x0, x1);
    const y = host.axes() === 'x' ? 0 : Math.min(y0, y1);
    const w = Math.abs(x1 - x0);
    const h = host.axes() === 'x' ? host.size().h : Math.abs(y1 - y0);
    ctx.fillStyle = 'rgba(255,255,255,0.15)';
    ctx.fillRect(x, y, w, h);
    ctx.strokeStyle = 'rgba(255,255,255,0.9)';
    ctx.setLineDash([4, 3]);
    ctx.strokeRect(x + 0.5, y + 0.5, w, h);
    ctx.strokeStyle = 'rgba(0,0,0,0.6)';
    ctx.lineDashOffset = 3;
    ctx.strokeRect(x + 0.5, y + 0.5, w, h);
  };

  canvas.addEventListener(
    'wheel',
    (e) => {
      e.preventDefault();
      const p = local(e);
      const { w, h } = host.size();
      const vp = host.viewport();
      const c = toCells(vp, p.x, p.y, w, h);
      const delta = e.deltaMode === 1 ? e.deltaY * 33 : e.deltaMode === 2 ? e.deltaY * 400 : e.deltaY;
      const factor = Math.pow(WHEEL_ZOOM, Math.max(-5, Math.min(5, delta / 100)));
      host.setViewport(zoomAt(vp, factor, c.x, c.y, host.extent(), { lockAspect: host.lockAspect(), axes: host.axes() }));
      host.hover(p.x, p.y);
    },
    { passive: false },
  );

  canvas.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return;
    const p = local(e);
    drag = { x: p.x, y: p.y, vp: host.viewport(), box: e.shiftKey, moved: false, id: e.pointerId };
    canvas.setPointerCapture(e.pointerId);
    canvas.focus({ preventScroll: true });
    host.leave();
  });

  canvas.addEventListener('pointermove', (e) => {
    const p = local(e);
    if (!drag) {
      host.hover(p.x, p.y);
      return;
    }
    const dx = p.x - drag.x;
    const dy = p.y - drag.y;
    if (!drag.moved && Math.hypot(dx, dy) < 3) return;
    drag.moved = true;
    if (drag.box) {
      drawBox(drag.x, drag.y, p.x, p.y);
      return;
    }
    canvas.classList.add('dragging');
    const { w, h } = host.size();
    const vp = drag.vp;
    const cx = (-dx * (vp.x1 - vp.x0)) / w;
    const cy = host.axes() === 'x' ? 0 : (-dy * (vp.y1 - vp.y0)) / h;
    host.setViewport(panBy(vp, cx, cy, host.extent()));
  });

  const end = (e: PointerEvent) => {
    if (!drag || e.pointerId !== drag.id) return;
    const d = drag;
    drag = null;
    canvas.classList.remove('dragging');
    clearOverlay();
    if (d.box && d.moved) {
      const p = local(e);
      const { w, h } = host.size();
      const vp = host.viewport();
      const a = toCells(vp, d.x, d.y, w, h);
      const b = toCells(vp, p.x, p.y, w, h);
      if (host.axes() === 'x') {
        host.setViewport(boxZoom({ x0: a.x, x1: b.x, y0: vp.y0, y1: vp.y1 }, host.extent()));
      } else {
        const aspect = host.lockAspect() ? (vp.x1 - vp.x0) / (vp.y1 - vp.y0) : undefined;
        host.setViewport(boxZoom({ x0: a.x, x1: b.x, y0: a.y, y1: b.y }, host.extent(), aspect));
      }
    }
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  canvas.addEventListener('mouseleave', () => host.leave());
  canvas.addEventListener('dblclick', () => host.reset());

  canvas.addEventListener('keydown', (e) => {
    const vp = host.viewport();
    const sx = vp.x1 - vp.x0;
    const sy = vp.y1 - vp.y0;
    const cx = (vp.x0 + vp.x1) / 2;
    const cy = (vp.y0 + vp.y1) / 2;
    const opts = { lockAspect: host.lockAspect(), axes: host.axes() };
    const step = e.shiftKey ? 0.5 : 0.1;
    let next: Viewport | null = null;
    switch (e.key) {
      case 'ArrowLeft':
        next = panBy(vp, -sx * step, 0, host.extent());
        break;
      case 'ArrowRight':
        next = panBy(vp, sx * step, 0, host.extent());
        break;
      case 'ArrowUp':
        next = host.axes() === 'x' ? null : panBy(vp, 0, -sy * step, host.extent());
        break;
      case 'ArrowDown':
        next = host.axes() === 'x' ? null : panBy(vp, 0, sy * step, host.extent());
        break;
      case '+':
      case '=':
        next = zoomAt(vp, 1 / 1.5, cx, cy, host.extent(), opts);
        break;
      case '-':
      case '_':
        next = zoomAt(vp, 1.5, cx, cy, host.extent(), opts);
        break;
      case '0':
        host.reset();
        e.preventDefault();
        return;
      case 'Escape':
        if (drag) {
          drag = null;
          clearOverlay();
        }
        return;
      default:
        return;
    }
    e.preventDefault();
    if (next) host.setViewport(next);
  });
}
