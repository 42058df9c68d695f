/**
 * The viewer page: one viewport showing a series stack, with the series strip,
 * window/level, presets, invert and overlays. Wiring only; maths lives in math/ and
 * tools/, drawing in render/.
 * @module main
 */
import { fetchFrame, fetchSeriesMetadata } from './io/api.js';
import {
  CT_PRESETS, dragWindow, initialWindow, voiFunctionCode,
} from './math/voi.js';
import { Canvas2DRenderer } from './render/canvas2d.js';
import { WebGLRenderer } from './render/webgl.js';
import {
  defaultPlacement, imageToCanvas, rotate, zoomAt,
} from './math/transform.js';
import { edgeLabels } from './math/orientation.js';
import { clampIndex, indexForKey, indexForWheel } from './tools/stack.js';
import { loadTags, renderTags } from './tools/tags.js';

const root = document.getElementById('viewer');
const canvas = document.getElementById('viewport-canvas');
const studyUid = root.dataset.studyUid;
const t = JSON.parse(document.getElementById('viewer-text').textContent);

const state = {
  series: null, index: 0, frame: null, error: '',
  view: { center: 0, width: 1, fn: 0, invert: false }, placement: defaultPlacement(),
};
const frames = new Map();

function createRenderer() {
  const forced = new URLSearchParams(window.location.search).get('renderer');
  if (forced !== 'canvas2d') {
    try { return new WebGLRenderer(canvas); } catch (error) { console.warn(error.message); }
  }
  return new Canvas2DRenderer(canvas);
}
const renderer = createRenderer();

function matrix() {
  const { frame } = state;
  if (!frame) return [1, 0, 0, 1, 0, 0];
  const geometry = state.series.instances[state.index] || {};
  const image = { columns: frame.columns, rows: frame.rows, spacing: geometry.pixel_spacing };
  return imageToCanvas(image, canvas, state.placement);
}

function draw() {
  const box = canvas.getBoundingClientRect();
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(box.width * ratio));
  const height = Math.max(1, Math.round(box.height * ratio));
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  renderer.draw(state.view, matrix());
  updateOverlays();
}

function text(id, value) {
  document.getElementById(id).textContent = value;
}

function updateOverlays() {
  const { series, frame } = state;
  if (!series) return;
  const geometry = series.instances[state.index] || {};
  text('overlay-image', `${t.image} ${state.index + 1} / ${series.instances.length}`);
  text('overlay-thickness', geometry.slice_thickness != null
    ? `${t.thickness} ${geometry.slice_thickness} mm` : '');
  text('overlay-position', geometry.position ? `${t.position} ${geometry.position.map((v) => v.toFixed(1)).join(', ')} mm` : '');
  text('overlay-window', frame && frame.samples === 1
    ? `W ${Math.round(state.view.width)} L ${Math.round(state.view.center)}` : '');
  const m = matrix();
  const colSpacing = (geometry.pixel_spacing || [1, 1])[1];
  // Canvas pixels per image pixel.
  text('overlay-zoom', frame ? `${t.zoom} ${(Math.hypot(m[0], m[1]) / colSpacing).toFixed(2)}x` : '');
  // Markers only where the header states the orientation; never a guess.
  const labels = frame ? edgeLabels(geometry.orientation, m) : null;
  for (const edge of ['left', 'right', 'top', 'bottom']) {
    text(`marker-${edge}`, labels ? labels[edge] : '');
  }
  text('overlay-message', state.error);
  const slider = document.getElementById('stack-slider');
  slider.max = String(Math.max(series.instances.length - 1, 0));
  slider.value = String(state.index);
  root.dataset.index = String(state.index);
  root.dataset.ready = frame ? 'true' : 'false';
}

async function loadFrame(index) {
  const geometry = state.series.instances[index];
  const key = geometry.sop_instance_uid;
  if (!frames.has(key)) frames.set(key, fetchFrame(studyUid, key, 1));
  return frames.get(key);
}

async function show(index, { keepWindow = true } = {}) {
  state.index = clampIndex(index, state.series.instances.length);
  const wanted = state.index;
  try {
    const frame = await loadFrame(wanted);
    if (wanted !== state.index) return; // the person scrolled on meanwhile
    const first = !state.frame;
    state.frame = frame;
    state.error = '';
    if (first || !keepWindow) {
      state.view = { ...state.view, ...initialWindow(frame), fn: voiFunctionCode(frame.voiFunction) };
      state.view.invert = frame.photometric === 'MONOCHROME1';
    }
    renderer.setFrame(frame);
  } catch (error) {
    state.frame = null;
    state.error = `${t.cannotShow}: ${error.message}`;
    renderer.frame = null;
  }
  draw();
  // Neighbours next, so scrolling does not wait.
  for (const next of [state.index + 1, state.index - 1]) {
    if (next >= 0 && next < state.series.instances.length) loadFrame(next).catch(() => {});
  }
}

async function openSeries(seriesUid) {
  root.dataset.ready = 'false';
  state.series = await fetchSeriesMetadata(studyUid, seriesUid);
  state.frame = null;
  frames.clear();
  for (const button of document.querySelectorAll('.series-strip button')) {
    button.setAttribute('aria-pressed', String(button.dataset.seriesUid === seriesUid));
  }
  text('overlay-series', `${state.series.number ?? ''} ${state.series.description || ''}`);
  await show(Math.floor((state.series.instances.length - 1) / 2), { keepWindow: false });
}

let cine = null;
function toggleCine() {
  const button = document.getElementById('cine');
  if (cine) {
    cancelAnimationFrame(cine.handle);
    cine = null;
    button.setAttribute('aria-pressed', 'false');
    return;
  }
  button.setAttribute('aria-pressed', 'true');
  cine = { last: performance.now(), handle: 0 };
  const step = (now) => {
    if (!cine || !state.series) return;
    const fps = Math.min(Math.max(Number(document.getElementById('cine-fps').value) || 10, 1), 60);
    if (now - cine.last >= 1000 / fps) {
      cine.last = now;
      show((state.index + 1) % state.series.instances.length);
    }
    cine.handle = requestAnimationFrame(step);
  };
  cine.handle = requestAnimationFrame(step);
}

function setWindow(center, width) {
  state.view = { ...state.view, center, width: Math.max(width, 1) };
  draw();
}

// Input: wheel and keys scroll; dragging with the primary button windows.
function canvasPoint(event) {
  const box = canvas.getBoundingClientRect();
  const ratio = canvas.width / box.width;
  return [(event.clientX - box.left) * ratio, (event.clientY - box.top) * ratio];
}

function zoomBy(factor, point = [canvas.width / 2, canvas.height / 2]) {
  state.placement = zoomAt(state.placement, factor, canvas, point[0], point[1]);
  draw();
}

canvas.addEventListener('wheel', (event) => {
  event.preventDefault();
  if (!state.series) return;
  if (event.ctrlKey || event.metaKey) {
    zoomBy(event.deltaY < 0 ? 1.1 : 1 / 1.1, canvasPoint(event));
  } else {
    show(indexForWheel(event.deltaY, state.index, state.series.instances.length));
  }
}, { passive: false });

root.addEventListener('keydown', (event) => {
  if (!state.series || event.target.tagName === 'SELECT') return;
  const next = indexForKey(event.key, state.index, state.series.instances.length);
  if (next !== null) {
    event.preventDefault();
    show(next);
  } else if (event.key === 'i') {
    state.view.invert = !state.view.invert; draw();
  } else if (event.key === 'r') {
    state.placement = defaultPlacement(); show(state.index, { keepWindow: false });
  } else if (event.key === '1') {
    state.placement = { ...defaultPlacement(), oneToOne: !state.placement.oneToOne }; draw();
  } else if (event.key === '+' || event.key === '=') {
    zoomBy(1.25);
  } else if (event.key === '-') {
    zoomBy(0.8);
  } else if (event.key === 'o') {
    state.placement = rotate(state.placement, 90); draw();
  } else if (event.key === 'h') {
    state.placement = { ...state.placement, flipH: !state.placement.flipH }; draw();
  } else if (event.key === 'v') {
    state.placement = { ...state.placement, flipV: !state.placement.flipV }; draw();
  } else if (event.key === 'c') {
    toggleCine();
  } else if (event.key === 't') {
    toggleTags();
  } else if (event.key === '?') {
    document.getElementById('help').toggleAttribute('hidden');
  }
});

// One pointer: drag windows (with Shift, or the right or middle button, it pans).
// Two pointers (touch): pinch zooms and moving both pans.
const pointers = new Map();
let drag = null;

function pinchGeometry() {
  const [p, q] = [...pointers.values()];
  return {
    distance: Math.hypot(p[0] - q[0], p[1] - q[1]) || 1,
    mid: [(p[0] + q[0]) / 2, (p[1] + q[1]) / 2],
  };
}

canvas.addEventListener('contextmenu', (event) => event.preventDefault());
canvas.addEventListener('pointerdown', (event) => {
  canvas.setPointerCapture(event.pointerId);
  pointers.set(event.pointerId, canvasPoint(event));
  const pan = event.shiftKey || event.button === 1 || event.button === 2;
  drag = pointers.size === 1
    ? {
      mode: pan ? 'pan' : 'window', x: event.clientX, y: event.clientY,
      view: { ...state.view }, placement: { ...state.placement },
    }
    : { mode: 'pinch', placement: { ...state.placement }, start: pinchGeometry() };
});
canvas.addEventListener('pointermove', (event) => {
  if (!drag || !pointers.has(event.pointerId)) return;
  pointers.set(event.pointerId, canvasPoint(event));
  if (drag.mode === 'pinch' && pointers.size >= 2) {
    const now = pinchGeometry();
    const zoomed = zoomAt(drag.placement, now.distance / drag.start.distance, canvas,
      drag.start.mid[0], drag.start.mid[1]);
    state.placement = {
      ...zoomed,
      panX: zoomed.panX + now.mid[0] - drag.start.mid[0],
      panY: zoomed.panY + now.mid[1] - drag.start.mid[1],
    };
    draw();
  } else if (drag.mode === 'pan') {
    const ratio = canvas.width / canvas.getBoundingClientRect().width;
    state.placement = {
      ...drag.placement,
      panX: drag.placement.panX + (event.clientX - drag.x) * ratio,
      panY: drag.placement.panY + (event.clientY - drag.y) * ratio,
    };
    draw();
  } else if (drag.mode === 'window' && state.frame) {
    const range = Math.max(state.frame.max - state.frame.min, 1);
    const next = dragWindow(drag.view, event.clientX - drag.x, event.clientY - drag.y,
      range / 512);
    setWindow(next.center, next.width);
  }
});
const release = (event) => {
  pointers.delete(event.pointerId);
  drag = null;
};
canvas.addEventListener('pointerup', release);
canvas.addEventListener('pointercancel', release);

document.getElementById('stack-slider').addEventListener('input', (event) => {
  show(Number(event.target.value));
});
document.getElementById('preset').addEventListener('change', (event) => {
  const preset = CT_PRESETS.find((p) => p.name === event.target.value);
  if (preset) setWindow(preset.center, preset.width);
  else if (event.target.value === 'file') show(state.index, { keepWindow: false });
});
document.getElementById('invert').addEventListener('click', () => {
  state.view.invert = !state.view.invert; draw();
});
document.getElementById('reset').addEventListener('click', () => {
  state.placement = defaultPlacement(); show(state.index, { keepWindow: false });
});
document.getElementById('one-to-one').addEventListener('click', () => {
  state.placement = { ...defaultPlacement(), oneToOne: !state.placement.oneToOne }; draw();
});
document.getElementById('zoom-in').addEventListener('click', () => zoomBy(1.25));
document.getElementById('cine').addEventListener('click', toggleCine);
document.getElementById('show-tags').addEventListener('click', () => toggleTags());
document.getElementById('tag-search').addEventListener('input', (event) => {
  renderTags(document.getElementById('tag-list'), tagState.elements, event.target.value);
});
document.getElementById('zoom-out').addEventListener('click', () => zoomBy(0.8));
document.getElementById('rotate').addEventListener('click', () => {
  state.placement = rotate(state.placement, 90); draw();
});
document.getElementById('flip-h').addEventListener('click', () => {
  state.placement = { ...state.placement, flipH: !state.placement.flipH }; draw();
});
document.getElementById('flip-v').addEventListener('click', () => {
  state.placement = { ...state.placement, flipV: !state.placement.flipV }; draw();
});
for (const button of document.querySelectorAll('.series-strip button')) {
  button.addEventListener('click', () => openSeries(button.dataset.seriesUid));
}
new ResizeObserver(() => draw()).observe(canvas);

const tagState = { elements: [], sop: '' };
async function toggleTags() {
  const panel = document.getElementById('tags');
  panel.toggleAttribute('hidden');
  if (panel.hidden || !state.series) return;
  const sop = state.series.instances[state.index].sop_instance_uid;
  if (tagState.sop !== sop) {
    tagState.elements = await loadTags(studyUid, sop);
    tagState.sop = sop;
  }
  renderTags(document.getElementById('tag-list'), tagState.elements,
    document.getElementById('tag-search').value);
}

// A small handle for tests and benchmarks: state, and the pixels of the image region.
window.pacsweb = {
  state,
  renderer: renderer.kind,
  show,
  setWindow,
  /** Grey levels of the canvas region the image covers, with its width and height. */
  readImage() {
    draw();
    const m = matrix();
    const { columns, rows } = state.frame;
    const corners = [[0, 0], [columns, 0], [0, rows], [columns, rows]]
      .map(([u, v]) => [m[0] * u + m[2] * v + m[4], m[1] * u + m[3] * v + m[5]]);
    const xs = corners.map((c) => c[0]);
    const ys = corners.map((c) => c[1]);
    const [x, y] = [Math.round(Math.min(...xs)), Math.round(Math.min(...ys))];
    const width = Math.round(Math.max(...xs)) - x;
    const height = Math.round(Math.max(...ys)) - y;
    return { width, height, grey: Array.from(renderer.readRegion(x, y, width, height)) };
  },
  setOneToOne(on) { state.placement = { ...defaultPlacement(), oneToOne: on }; draw(); },
};

const initial = root.dataset.initialSeries || document.querySelector('.series-strip button')?.dataset.seriesUid;
if (initial) openSeries(initial);
