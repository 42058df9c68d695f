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
import { clampIndex, indexForKey, indexForWheel } from './tools/stack.js';

const root = document.getElementById('viewer');
const canvas = document.getElementById('viewport-canvas');
const studyUid = root.dataset.studyUid;
const t = JSON.parse(document.getElementById('viewer-text').textContent);

const state = {
  series: null, index: 0, frame: null, error: '',
  view: { center: 0, width: 1, fn: 0, invert: false }, fitted: true,
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

function imageRect() {
  const { frame } = state;
  if (!frame) return { x: 0, y: 0, width: 0, height: 0 };
  if (!state.fitted) {
    return {
      x: Math.floor((canvas.width - frame.columns) / 2),
      y: Math.floor((canvas.height - frame.rows) / 2),
      width: frame.columns,
      height: frame.rows,
    };
  }
  const geometry = state.series.instances[state.index];
  const [rowSpacing, colSpacing] = geometry.pixel_spacing || [1, 1];
  const widthMm = frame.columns * colSpacing;
  const heightMm = frame.rows * rowSpacing;
  const scale = Math.min(canvas.width / widthMm, canvas.height / heightMm);
  const width = Math.round(widthMm * scale);
  const height = Math.round(heightMm * scale);
  return {
    x: Math.floor((canvas.width - width) / 2), y: Math.floor((canvas.height - height) / 2),
    width, height,
  };
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
  renderer.draw(state.view, imageRect());
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

function setWindow(center, width) {
  state.view = { ...state.view, center, width: Math.max(width, 1) };
  draw();
}

// Input: wheel and keys scroll; dragging with the primary button windows.
canvas.addEventListener('wheel', (event) => {
  event.preventDefault();
  if (state.series) show(indexForWheel(event.deltaY, state.index, state.series.instances.length));
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
    show(state.index, { keepWindow: false }); state.fitted = true;
  } else if (event.key === '1') {
    state.fitted = !state.fitted; draw();
  } else if (event.key === '?') {
    document.getElementById('help').toggleAttribute('hidden');
  }
});

let drag = null;
canvas.addEventListener('pointerdown', (event) => {
  canvas.setPointerCapture(event.pointerId);
  drag = { x: event.clientX, y: event.clientY, start: { ...state.view } };
});
canvas.addEventListener('pointermove', (event) => {
  if (!drag || !state.frame) return;
  const range = Math.max(state.frame.max - state.frame.min, 1);
  const next = dragWindow(drag.start, event.clientX - drag.x, event.clientY - drag.y, range / 512);
  setWindow(next.center, next.width);
});
canvas.addEventListener('pointerup', () => { drag = null; });
canvas.addEventListener('pointercancel', () => { drag = null; });

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
  state.fitted = true; show(state.index, { keepWindow: false });
});
document.getElementById('one-to-one').addEventListener('click', () => {
  state.fitted = !state.fitted; draw();
});
for (const button of document.querySelectorAll('.series-strip button')) {
  button.addEventListener('click', () => openSeries(button.dataset.seriesUid));
}
new ResizeObserver(() => draw()).observe(canvas);

// A small handle for tests and benchmarks: state, and the pixels of the image region.
window.pacsweb = {
  state,
  renderer: renderer.kind,
  show,
  setWindow,
  readImage() {
    draw();
    const rect = imageRect();
    return Array.from(renderer.readRegion(rect.x, rect.y, rect.width, rect.height));
  },
  setOneToOne(on) { state.fitted = !on; draw(); },
};

const initial = root.dataset.initialSeries || document.querySelector('.series-strip button')?.dataset.seriesUid;
if (initial) openSeries(initial);
