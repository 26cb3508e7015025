/**
 * The preview webview: a grayscale canvas heatmap of the displayed slice.
 * It asks the host for the visible window at the canvas's pixel size and
 * draws what comes back; it never holds more than one value per pixel.
 */
import type { HostToWebview, SegmentSummary, WebviewToHost, Window2D } from './protocol';

interface VsCodeApi {
  postMessage(msg: WebviewToHost): void;
  getState(): unknown;
  setState(s: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const canvas = document.getElementById('heatmap') as HTMLCanvasElement;
const title = document.getElementById('title') as HTMLElement;
const info = document.getElementById('info') as HTMLElement;
const status = document.getElementById('status') as HTMLElement;
const errorBox = document.getElementById('error') as HTMLElement;
const ctx = canvas.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D;

let segment: SegmentSummary | null = null;
let requestId = 0;
let lastDrawn = 0;

function post(msg: WebviewToHost): void {
  vscode.postMessage(msg);
}

function isFiniteNumberOrNull(v: unknown): v is number | null {
  return v === null || (typeof v === 'number' && Number.isFinite(v));
}

/** Checks a message's shape before anything is done with it. */
function validate(m: unknown): HostToWebview | null {
  if (typeof m !== 'object' || m === null) return null;
  const msg = m as Record<string, unknown>;
  switch (msg.type) {
    case 'init': {
      const s = msg.segment as Record<string, unknown> | undefined;
      if (!s || typeof s.name !== 'string' || typeof s.rows !== 'number' || typeof s.cols !== 'number') return null;
      return m as HostToWebview;
    }
    case 'tile': {
      const w = msg.width, h = msg.height;
      if (typeof w !== 'number' || typeof h !== 'number' || !(msg.values instanceof Float64Array)) return null;
      if (msg.values.length !== w * h || !isFiniteNumberOrNull(msg.min) || !isFiniteNumberOrNull(msg.max)) return null;
      return m as HostToWebview;
    }
    case 'error':
      return typeof msg.message === 'string' ? (m as HostToWebview) : null;
    default:
      return null;
  }
}

function fullWindow(s: SegmentSummary): Window2D {
  return { r0: 0, r1: s.rows, c0: 0, c1: s.cols };
}

/** Canvas size in device pixels, fitted to the matrix's aspect ratio inside the available area. */
function layout(): { width: number; height: number } {
  const area = document.getElementById('plot') as HTMLElement;
  const dpr = window.devicePixelRatio || 1;
  const style = getComputedStyle(area);
  const padX = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight) + 2; // + canvas border
  const padY = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom) + 2;
  const availW = Math.max(16, area.clientWidth - padX);
  const availH = Math.max(16, area.clientHeight - padY);
  if (!segment) return { width: availW, height: availH };
  const aspect = segment.cols / segment.rows;
  let w = availW;
  let h = w / aspect;
  if (h > availH) {
    h = availH;
    w = h * aspect;
  }
  canvas.style.width = `${Math.round(w)}px`;
  canvas.style.height = `${Math.round(h)}px`;
  return { width: Math.max(1, Math.round(w * dpr)), height: Math.max(1, Math.round(h * dpr)) };
}

function requestView(): void {
  if (!segment) return;
  const { width, height } = layout();
  requestId++;
  post({ type: 'view', requestId, window: fullWindow(segment), width, height });
}

function draw(msg: Extract<HostToWebview, { type: 'tile' }>): void {
  if (msg.requestId < lastDrawn) return;
  lastDrawn = msg.requestId;
  const { width, height, values } = msg;
  canvas.width = width;
  canvas.height = height;
  const img = ctx.createImageData(width, height);
  const lo = msg.min ?? 0;
  const hi = msg.max ?? 1;
  const span = hi > lo ? hi - lo : 1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const o = i * 4;
    if (Number.isNaN(v)) {
      img.data[o] = 255; img.data[o + 1] = 0; img.data[o + 2] = 255; // NaN: magenta
    } else if (v === Infinity || v === -Infinity) {
      const g = v > 0 ? 255 : 0;
      img.data[o] = g; img.data[o + 1] = 64; img.data[o + 2] = 0; // ±Inf: orange / dark
    } else {
      const g = Math.max(0, Math.min(255, Math.round(((v - lo) / span) * 255)));
      img.data[o] = g; img.data[o + 1] = g; img.data[o + 2] = g;
    }
    img.data[o + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  canvas.dataset.mode = msg.mode;
  canvas.dataset.min = String(msg.min);
  canvas.dataset.max = String(msg.max);
  status.textContent =
    `${msg.mode === 'strided' ? 'sampled' : msg.mode} · ${height}×${width} cells · ` +
    `range ${fmt(msg.min)} … ${fmt(msg.max)} · ${msg.elapsedMs.toFixed(1)} ms`;
  document.body.dataset.state = msg.mode === 'strided' ? 'preview' : 'exact';
}

function fmt(v: number | null): string {
  if (v === null) return '—';
  return Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : String(+v.toPrecision(6));
}

window.addEventListener('message', (ev: MessageEvent) => {
  const msg = validate(ev.data);
  if (!msg) return;
  if (msg.type === 'init') {
    segment = msg.segment;
    title.textContent = segment.name;
    info.textContent = `${segment.dtypeWords} · ${segment.shape.join('×') || 'scalar'}${segment.fortranOrder ? ' · Fortran order' : ''}`;
    errorBox.hidden = true;
    requestView();
  } else if (msg.type === 'tile') {
    draw(msg);
  } else {
    errorBox.hidden = false;
    errorBox.textContent = msg.message;
    document.body.dataset.state = 'error';
  }
});

let resizeTimer: number | undefined;
new ResizeObserver(() => {
  window.clearTimeout(resizeTimer);
  resizeTimer = window.setTimeout(requestView, 100);
}).observe(document.getElementById('plot') as HTMLElement);

post({ type: 'ready' });
