/**
 * The MPR view: axial, coronal, sagittal and oblique reformats of one series on one
 * canvas, with linked crosshairs and thick slabs: building the volume, drawing, state.
 * Its overlays are in mpr/overlay.js, its pointer input in mpr/input.js.
 * @module mpr/view
 */
import {
  obliquePlane, paneMapping, planeHolding, PLANES, stepAlong, toPane, volumeCentre,
} from '../math/mpr.js';
import { MPR_CORNERS } from '../math/corners.js';
import { add, times } from '../math/vec3.js';
import { initialWindow, voiFunctionCode } from '../math/voi.js';
import { buildVolume, toPatientPoint, toVoxel, volumeGeometry, voxelAxes } from '../math/volume.js';
import { drawPaneOverlay, PANES } from './overlay.js';
import { bindPaneInput } from './input.js';
import { cornersTemplate } from '../render/overlay-corners.js';
import { MprCanvasRenderer } from '../render/mpr-canvas.js';
import { MprWebGLRenderer } from '../render/mpr-webgl.js';

// While the person drags, the canvas may hold fewer pixels (the browser scales it up)
// to stay within a frame budget; it is sharp again once the input has rested.
const FRAME_BUDGET_MS = 25;
const SCALES = [1, 0.7, 0.5, 0.35, 0.25];
const SETTLE_MS = 250;

function paneTemplate(name) {
  return `<div class="mpr-pane" data-plane="${name}" tabindex="-1">
    ${cornersTemplate(MPR_CORNERS)}
    <div class="marker left" data-o="left"></div><div class="marker right" data-o="right"></div>
    <div class="marker top" data-o="top"></div><div class="marker bottom" data-o="bottom"></div>
    <svg class="crosshair" aria-hidden="true"></svg>
  </div>`;
}

function controls(t) {
  const modes = Object.entries(t.slabModes).map(([value, label]) => `<option value="${value}">${label}</option>`).join('');
  return `<div class="mpr-controls" role="toolbar" aria-label="MPR">
    <label>${t.slab} <select data-c="mode">${modes}</select></label>
    <label><span class="visually-hidden">${t.thicknessMm}</span>
      <input type="number" data-c="thickness" min="0" max="200" step="1" value="10" aria-label="${t.thicknessMm}" style="width: 5em"> mm</label>
    <label>${t.angle} <input type="range" data-c="angle" min="-90" max="90" step="1" value="30"></label>
    <label>${t.tilt} <input type="range" data-c="tilt" min="-60" max="60" step="1" value="0"></label>
    <button type="button" data-c="exit">${t.exit}</button>
  </div>
  <div class="mpr-panes">${PANES.map(paneTemplate).join('')}<canvas class="mpr-canvas"></canvas></div>
  <div class="overlay center mpr-status" role="status"></div>`;
}

export class MprView {
  /**
   * @param {HTMLElement} element an empty box for the view
   * @param {{series: object, text: object, patient: {name: string, id: string},
   *   rendererKind: string,
   *   loadFrames: (onFrame: (sopUid: string, frameNumber: number, frame: object) => void,
   *     signal: AbortSignal) => Promise<void>,
   *   measurements?: () => object[], selected?: () => number | null, tool?: () => string,
   *   onMeasure?: (draft: object) => Promise<void>,
   *   view?: object, onExit: () => void}} options
   */
  constructor(element, options) {
    this.element = element;
    this.options = options;
    this.t = options.text.mpr;
    element.classList.add('mpr');
    element.innerHTML = controls(this.t);
    element.querySelectorAll('.patient-name').forEach((node) => { node.textContent = options.patient.name; });
    element.querySelectorAll('.patient-id').forEach((node) => { node.textContent = options.patient.id; });
    this.canvas = element.querySelector('canvas.mpr-canvas');
    this.panes = new Map(PANES.map((name) => [name, element.querySelector(`.mpr-pane[data-plane="${name}"]`)]));
    this.state = {
      ready: false, active: 'axial', crosshair: null, angle: 30, tilt: 0,
      slab: { mode: 'none', thickness: 10 }, view: { center: 40, width: 400, fn: 0, invert: false },
      panes: Object.fromEntries(PANES.map((name) => [name, { zoom: 1, panX: 0, panY: 0 }])),
      frame: null, error: '',
    };
    this.draws = 0;
    this.pending = 0;
    this.scale = 1;
    this.lastScale = 1;
    this.lastInput = -Infinity;
    this.bindControls();
    for (const [name, pane] of this.panes) bindPaneInput(this, name, pane);
    this.resizeObserver = new ResizeObserver(() => this.requestDraw());
    this.resizeObserver.observe(this.canvas);
  }

  status(message) {
    this.element.querySelector('.mpr-status').textContent = message;
  }

  /** A message for a few seconds; then the standing one (a gantry tilt) is back. */
  notice(message) {
    this.status(message);
    clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => { if (!this.destroyed) this.status(this.standing || ''); }, 4000);
  }

  /**
   * A newer listing of the series on screen (images arrived): a view still waiting
   * for the whole series counts down, and builds once the last image is here.
   */
  async updateSeries(series) {
    // Only a view waiting for images retries: a failed download is not fetched again
    // at every pause in arrivals (the person presses MPR to try again).
    if (!this.waiting || this.building || this.destroyed) return;
    if (series.series_uid !== this.options.series.series_uid) return;
    this.options.series = series;
    await this.build();
  }

  /** Check the series, fetch its frames and build the volume; says why not otherwise. */
  async build() {
    this.building = true;
    try {
      return await this.buildVolume();
    } finally {
      this.building = false;
    }
  }

  async buildVolume() {
    const started = performance.now();
    // Objects without pixels (a report filed in the series) are no slices of it.
    const instances = this.options.series.instances.filter((entry) => entry.missing || (entry.rows && entry.columns));
    const geometry = volumeGeometry(instances);
    this.waiting = geometry.reason === 'missing';
    if (!geometry.ok) {
      this.state.error = (this.t.not[geometry.reason] || this.t.failed).replace('%(n)s', String(geometry.count));
      this.status(this.state.error);
      return false;
    }
    let done = 0;
    const frames = new Array(instances.length);
    const slots = new Map(instances.map((entry, index) => [`${entry.sop_instance_uid}/${entry.frame || 1}`, index]));
    const report = () => this.status(this.t.building.replace('%(n)s', String(done)).replace('%(total)s', String(instances.length)));
    report();
    this.aborter = new AbortController();
    try {
      // One request for the whole series: hundreds of frame requests cost more in
      // per-request overhead than in pixels.
      await this.options.loadFrames((sopUid, frameNumber, frame) => {
        const index = slots.get(`${sopUid}/${frameNumber}`);
        if (index === undefined || frames[index]) return; // not part of the stack
        frames[index] = frame;
        done += 1;
        if (done % 10 === 0) report();
      }, this.aborter.signal);
      if (this.destroyed) return false; // left before the volume was complete
      if (done < instances.length) {
        throw new Error(this.t.incomplete.replace('%(n)s', String(done)).replace('%(total)s', String(instances.length)));
      }
      const fetched = performance.now();
      this.volume = buildVolume(geometry, frames);
      const built = performance.now();
      this.renderer = this.createRenderer();
      this.renderer.setVolume(this.volume, geometry);
      this.buildSteps = { fetch: fetched - started, volume: built - fetched, upload: performance.now() - built };
    } catch (error) {
      if (this.destroyed) return false;
      this.state.error = `${this.t.failed}: ${error.message}`;
      this.status(this.state.error);
      return false;
    }
    this.geometry = geometry;
    this.frameOfReference = instances[0].frame_of_reference_uid;
    this.state.frame = frames[geometry.order[Math.floor(geometry.order.length / 2)]];
    this.state.crosshair = volumeCentre(geometry);
    const view = this.options.view || {
      ...initialWindow(this.state.frame), fn: voiFunctionCode(this.state.frame.voiFunction),
      invert: this.state.frame.photometric === 'MONOCHROME1',
    };
    this.state.view = { ...this.state.view, ...view };
    this.buildMs = performance.now() - started;
    this.state.ready = true;
    this.standing = geometry.sheared ? this.t.sheared : '';
    this.status(this.standing);
    this.element.dataset.ready = 'true';
    this.drawNow();
    return true;
  }

  createRenderer() {
    if (this.options.rendererKind !== 'canvas2d') {
      try { return new MprWebGLRenderer(this.canvas); } catch (error) { console.warn(error.message); }
    }
    return new MprCanvasRenderer(this.canvas);
  }

  plane(name) {
    return name === 'oblique' ? obliquePlane(this.state.angle, this.state.tilt) : PLANES[name];
  }

  /** A pane's rectangle on the canvas, in device pixels; null while it is hidden. */
  paneRect(name) {
    const box = this.canvas.getBoundingClientRect();
    const pane = this.panes.get(name).getBoundingClientRect();
    if (!pane.width || !pane.height) return null;
    const ratio = this.canvas.width / Math.max(box.width, 1);
    const x = Math.round((pane.left - box.left) * ratio);
    const y = Math.round((pane.top - box.top) * ratio);
    return {
      x, y,
      width: Math.max(1, Math.round((pane.right - box.left) * ratio) - x),
      height: Math.max(1, Math.round((pane.bottom - box.top) * ratio) - y),
    };
  }

  /** The panes on screen, in PANES order: all four, or the one maximised. */
  shownPanes() {
    return PANES.filter((name) => this.paneRect(name));
  }

  /** Where the pane's pixels lie in the patient (math/mpr.paneMapping). */
  mapping(name, rect = this.paneRect(name)) {
    // Pan is kept in full-size device pixels; the canvas may be drawn smaller.
    const k = this.pixelScale();
    const view = this.state.panes[name];
    return paneMapping(this.geometry, this.plane(name), this.state.crosshair, rect,
      { ...view, panX: view.panX * k, panY: view.panY * k });
  }

  /** Canvas pixels per full-size device pixel: below 1 while drawing smaller. */
  pixelScale() {
    const width = this.canvas.getBoundingClientRect().width * (window.devicePixelRatio || 1);
    return width > 0 ? this.canvas.width / width : 1;
  }

  requestDraw() {
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => { this.pending = 0; this.drawNow(); });
  }

  drawNow() {
    if (!this.state.ready) return;
    const interactive = performance.now() - this.lastInput < SETTLE_MS;
    const scale = interactive ? this.scale : 1;
    const box = this.canvas.getBoundingClientRect();
    const ratio = (window.devicePixelRatio || 1) * scale;
    const width = Math.max(1, Math.round(box.width * ratio));
    const height = Math.max(1, Math.round(box.height * ratio));
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    const started = performance.now();
    const mappings = {};
    const panes = [];
    for (const name of PANES) {
      const rect = this.paneRect(name);
      if (!rect) continue; // hidden while another pane is maximised
      mappings[name] = this.mapping(name, rect);
      panes.push({ rect, mapping: mappings[name] });
    }
    // While dragging: nearest samples; sharp trilinear once the input rests.
    this.renderer.drawPanes(panes, this.state.slab, this.state.view, !interactive);
    for (const name of Object.keys(mappings)) drawPaneOverlay(this, name, mappings);
    this.draws += 1;
    this.lastScale = scale;
    if (interactive) {
      this.renderer.finish();
      // The cost follows the pixels drawn, the square of the scale: take the sharpest
      // scale expected to fit the budget.
      const took = Math.max(performance.now() - started, 1);
      this.scale = SCALES.find((s) => took * (s / scale) ** 2 <= FRAME_BUDGET_MS) || SCALES[SCALES.length - 1];
      clearTimeout(this.settle);
      this.settle = setTimeout(() => this.requestDraw(), SETTLE_MS);
    }
  }

  /** Input arrived: the next frames may be drawn smaller to keep up. */
  interacting() {
    this.lastInput = performance.now();
  }

  /** Put the crosshair at a patient point, kept inside the volume. */
  setCrosshair(point) {
    const { axes, inverse } = voxelAxes(this.geometry);
    const [i, j, k] = toVoxel(this.geometry, inverse, point);
    const clamp = (value, count) => Math.min(Math.max(value, 0), count - 1);
    this.state.crosshair = toPatientPoint(this.geometry, axes, [
      clamp(i, this.geometry.columns), clamp(j, this.geometry.rows), clamp(k, this.geometry.slices),
    ]);
    this.requestDraw();
  }

  /** Show a length drawn here: the crosshair at its middle, the pane that holds it active. */
  showLength(points) {
    const holding = planeHolding(points);
    if (holding.name === 'oblique') this.setOblique(holding.angle, 0);
    this.activate(holding.name);
    this.setCrosshair(times(add(points[0], points[1]), 0.5));
  }

  /** Move the crosshair ``steps`` voxels along the normal of pane ``name``. */
  page(name, steps) {
    const { normal } = this.mapping(name);
    const step = stepAlong(this.geometry, normal) * steps;
    this.setCrosshair(this.state.crosshair.map((value, n) => value + normal[n] * step));
  }

  setWindow(center, width) {
    this.state.view = { ...this.state.view, center, width: Math.max(width, 1) };
    this.requestDraw();
  }

  setSlab(change) {
    this.state.slab = { ...this.state.slab, ...change };
    this.requestDraw();
  }

  setOblique(angle, tilt = this.state.tilt) {
    this.state.angle = Math.max(-90, Math.min(90, angle));
    this.state.tilt = Math.max(-60, Math.min(60, tilt));
    this.element.querySelector('[data-c="angle"]').value = String(this.state.angle);
    this.element.querySelector('[data-c="tilt"]').value = String(this.state.tilt);
    this.requestDraw();
  }

  activate(name) {
    this.state.active = name;
    for (const [other, pane] of this.panes) pane.classList.toggle('active', other === name);
  }

  bindControls() {
    const control = (name) => this.element.querySelector(`[data-c="${name}"]`);
    control('mode').addEventListener('change', (event) => this.setSlab({ mode: event.target.value }));
    control('thickness').addEventListener('input', (event) => {
      const thickness = Number(event.target.value);
      if (Number.isFinite(thickness) && thickness >= 0) this.setSlab({ thickness });
    });
    control('angle').addEventListener('input', (event) => this.setOblique(Number(event.target.value)));
    control('tilt').addEventListener('input', (event) => this.setOblique(this.state.angle, Number(event.target.value)));
    control('exit').addEventListener('click', () => this.options.onExit());
  }

  /** Device-pixel point of a pointer event inside pane ``name``. */
  panePoint(name, event, ratio = this.canvasRatio()) {
    const box = this.panes.get(name).getBoundingClientRect();
    return [(event.clientX - box.left) * ratio, (event.clientY - box.top) * ratio];
  }

  /**
   * Canvas pixels per CSS pixel now. It changes while a drag draws smaller, so a drag
   * keeps the one it started with: its points and its mapping stay in the same units.
   */
  canvasRatio() {
    return this.canvas.width / Math.max(this.canvas.getBoundingClientRect().width, 1);
  }

  /** Keys while MPR is shown; true when the key was used. */
  handleKey(event) {
    if (!this.state.ready || this.draft) return false;
    const name = this.state.active;
    this.interacting();
    const moves = { ArrowUp: -1, ArrowDown: 1, PageUp: -10, PageDown: 10, ArrowLeft: -1, ArrowRight: 1 };
    if (event.key in moves) {
      this.page(name, moves[event.key]);
      return true;
    }
    const turns = { '[': [-5, 0], ']': [5, 0], '{': [0, -5], '}': [0, 5] };
    if (event.key in turns) {
      const [da, dt] = turns[event.key];
      this.setOblique(this.state.angle + da, this.state.tilt + dt);
      return true;
    }
    return false;
  }

  /** Draw now at every canvas pixel, trilinear, as when the input has rested. */
  drawSharp() {
    this.lastInput = -Infinity;
    this.drawNow();
  }

  /** Grey levels of a pane as drawn, with its size (for tests). */
  readPane(name) {
    this.drawSharp();
    const rect = this.paneRect(name);
    return { ...rect, grey: Array.from(this.renderer.readRegion(rect.x, rect.y, rect.width, rect.height)) };
  }

  /** Pane pixel coordinates of a patient point (for tests). */
  toPane(name, point) {
    return toPane(this.mapping(name), point);
  }

  destroy() {
    this.destroyed = true;
    this.aborter?.abort();
    this.resizeObserver.disconnect();
    if (this.pending) cancelAnimationFrame(this.pending);
    clearTimeout(this.settle);
    clearTimeout(this.noticeTimer);
    this.renderer?.destroy();
    this.element.replaceChildren();
    this.element.classList.remove('mpr', 'maximised');
  }
}
