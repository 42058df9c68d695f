/**
 * One viewport: a canvas showing a series stack, its overlays and its own input
 * (wheel scrolls, drag windows, Shift/right drag pans, two fingers pinch and pan).
 * @module viewport
 */
import { dragAction, tapKind, wheelAction } from './input/bindings.js';
import { endEdit, moveEdit, startEdit } from './input/measure-drag.js';
import { VIEWPORT_CORNERS } from './math/corners.js';
import { mammoPlacement } from './math/mammo.js';
import { edgeLabels, projectionLabels } from './math/orientation.js';
import { fixed, readable, significant } from './math/readable.js';
import {
  canvasToImage, defaultPlacement, imageExtent, imageToCanvas, reducedMatrix, rotate, zoomAt,
} from './math/transform.js';
import { dragWindow, initialWindow, voiFunctionCode } from './math/voi.js';
import { cornersTemplate, fitCorners } from './render/overlay-corners.js';
import { Canvas2DRenderer } from './render/canvas2d.js';
import { WebGLRenderer } from './render/webgl.js';
import { handles } from './tools/edit.js';
import { labelFor, pointerDown, pointerMove, pointerUp } from './tools/measure.js';
import { keptIndex } from './tools/progress.js';
import { kindOf } from './tools/registry.js';
import { clampIndex, expandFrames, indexForWheel, sameImage } from './tools/stack.js';

const TEMPLATE = `
  <canvas></canvas>
  ${cornersTemplate(VIEWPORT_CORNERS)}
  <div class="overlay center" data-o="message" role="status"></div>
  <div class="marker left" data-o="left"></div>
  <div class="marker right" data-o="right"></div>
  <div class="marker top" data-o="top"></div>
  <div class="marker bottom" data-o="bottom"></div>
  <svg class="annotations" aria-hidden="true"></svg>
  <canvas class="loupe" width="160" height="160" hidden></canvas>`;

const SVG = 'http://www.w3.org/2000/svg';

/** Whether two views show the same grey (window, function, inversion). */
function sameView(a, b) {
  return Boolean(a && b) && a.center === b.center && a.width === b.width && a.fn === b.fn
    && Boolean(a.invert) === Boolean(b.invert);
}

export class Viewport {
  /**
   * @param {HTMLElement} element the viewport's box
   * @param {{studyUid: string, text: object, patient: {name: string, id: string},
   *   rendererKind: string, onActivate: (viewport: Viewport) => void}} options
   */
  constructor(element, options) {
    this.element = element;
    this.options = options;
    element.innerHTML = TEMPLATE;
    element.querySelector('.patient-name').textContent = options.patient.name;
    element.querySelector('.patient-id').textContent = options.patient.id;
    element.querySelector('.study').textContent = options.study || '';
    this.canvas = element.querySelector('canvas');
    this.loupe = element.querySelector('canvas.loupe');
    this.magnifier = false;
    this.renderer = this.createRenderer(options.rendererKind);
    this.direction = 1; // the way the person last scrolled: the loader fetches that side first
    this.opened = 0; // series asked for so far: only the last one asked for is opened
    this.hungWindow = null; // a protocol's window waiting for the series' first image
    this.state = {
      series: null, index: 0, frame: null, error: '',
      view: { center: 0, width: 1, fn: 0, invert: false }, placement: defaultPlacement(),
    };
    this.pointers = new Map();
    this.drag = null;
    this.svg = element.querySelector('svg.annotations');
    this.referenceLines = [];
    this.linkNote = { note: '', why: '' }; // how a linked scroll follows here (approximately, why)
    this.draft = null;
    // A click on a measurement's label selects it (for Delete).
    this.svg.addEventListener('click', (event) => {
      const group = event.target.closest('g.measurement');
      if (group?.dataset.id) options.onSelectMeasurement?.(Number(group.dataset.id));
    });
    // Pressing one's own label grabs the measurement; the canvas follows the drag.
    this.svg.addEventListener('pointerdown', (event) => {
      const group = event.target.closest('g.measurement');
      if (event.button !== 0 || this.draft || !group?.dataset.id) return;
      if (startEdit(this, event, Number(group.dataset.id))) {
        options.onActivate(this);
        this.canvas.setPointerCapture(event.pointerId);
      }
    });
    this.bindInput();
    this.resizeObserver = new ResizeObserver(() => this.draw());
    this.resizeObserver.observe(this.canvas);
  }

  createRenderer(kind) {
    if (kind !== 'canvas2d') {
      try { return new WebGLRenderer(this.canvas); } catch (error) { console.warn(error.message); }
    }
    return new Canvas2DRenderer(this.canvas);
  }

  destroy() {
    this.resizeObserver.disconnect();
    this.stopCine();
    const lose = this.renderer.gl?.getExtension('WEBGL_lose_context');
    if (lose) lose.loseContext(); // browsers allow only so many live contexts
  }

  matrix() {
    const { frame, series, index, placement } = this.state;
    if (!frame) return [1, 0, 0, 1, 0, 0];
    const geometry = series.instances[index] || {};
    // A reduced rendition is placed as its full image: points and lengths stay in the
    // full image's pixels, and the spacing applies to them as it is.
    const image = { ...imageExtent(frame), spacing: geometry.pixel_spacing };
    return imageToCanvas(image, this.canvas, placement);
  }

  /** The reduction factor of the frame on screen: 1 when it is the full image. */
  reducedBy() {
    return this.state.frame?.reducedBy || 1;
  }

  /** The frame whose values may be read out (ROI statistics, probe): never a preview. */
  valuesFrame() {
    return this.reducedBy() > 1 ? null : this.state.frame;
  }

  /** What a label says in place of values the preview does not have, else ''. */
  pendingValues() {
    return this.reducedBy() > 1 ? this.options.text.valueAtFull || '' : '';
  }

  draw() {
    const box = this.canvas.getBoundingClientRect();
    this.size = { width: box.width, height: box.height }; // the overlays' too (canvas inset 0)
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(box.width * ratio));
    const height = Math.max(1, Math.round(box.height * ratio));
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    this.renderer.draw(this.state.view, reducedMatrix(this.matrix(), this.renderer.frame?.reducedBy));
    this.updateOverlays();
    this.drawAnnotations();
    this.options.onDrawn?.(this); // a presentation state's layer (shell/presentation.js)
  }

  /** Canvas CSS pixel of an image point given with pixel centres at whole numbers. */
  toScreen([column, row]) {
    const m = this.matrix();
    const ratio = window.devicePixelRatio || 1;
    const u = column + 0.5; const v = row + 0.5;
    return [(m[0] * u + m[2] * v + m[4]) / ratio, (m[1] * u + m[3] * v + m[5]) / ratio];
  }

  /** The 3-D cursor on this image: {sop_instance_uid, frame, point: [column, row]}, or null. */
  setCursor(cursor) {
    this.cursor = cursor;
    this.drawAnnotations();
  }

  /**
   * Lines where other viewports' slices cut this image: [{points, kind}]; ``samePlane``
   * when the active viewport's slice lies in this image's plane (no line then).
   */
  setReferenceLines(lines, samePlane = false) {
    this.referenceLines = lines;
    const note = samePlane ? this.options.text.samePlane : '';
    if (this.element.querySelector('[data-o="plane"]').textContent !== note) {
      this.text('plane', note);
      this.fitOverlays();
    }
    this.element.dataset.samePlane = String(samePlane);
    this.drawAnnotations();
  }

  /** Say how this viewport follows a linked scroll, and why ('' when exactly or not at all). */
  setLinkNote(note, why = '') {
    if (this.linkNote.note === note && this.linkNote.why === why) return;
    this.linkNote = { note, why };
    this.text('linked', note);
    this.text('linked-why', why);
    this.fitOverlays();
  }

  drawAnnotations() {
    const shapes = [];
    const entry = this.state.series?.instances[this.state.index];
    if (this.state.frame && entry) {
      const here = this.measurementsOn(entry);
      for (const m of this.draft ? [...here, this.draft] : here) shapes.push(...this.shapesFor(m, entry));
      for (const line of this.referenceLines) {
        const [[x1, y1], [x2, y2]] = line.points.map((p) => this.toScreen(p));
        const shape = document.createElementNS(SVG, 'line');
        Object.entries({ x1, y1, x2, y2, class: `reference ${line.kind}` })
          .forEach(([name, value]) => shape.setAttribute(name, String(value)));
        shapes.push(shape);
      }
      const { cursor } = this;
      if (sameImage(cursor, entry)) {
        const [x, y] = this.toScreen(cursor.point);
        const mark = document.createElementNS(SVG, 'path');
        mark.setAttribute('d', `M${x - 10},${y}h7m6,0h7M${x},${y - 10}v7m0,6v7`);
        mark.setAttribute('class', 'cursor3d');
        shapes.push(mark);
      }
    }
    this.svg.replaceChildren(...shapes);
    this.element.dataset.referenceLines = String(this.svg.querySelectorAll('line.reference').length);
    this.element.dataset.measurements = String(this.svg.querySelectorAll('g.measurement').length);
  }

  /** The measurements (own and shared) on stack entry ``entry``. */
  measurementsOn(entry) {
    return (this.options.measurements?.() || []).filter((m) => sameImage(m, entry));
  }

  /**
   * What a film print of stack entry ``entry`` carries from this viewport: its
   * measurements as drawn (kind, image points, label; values only for the image on
   * screen) and how the image is turned and mirrored.
   */
  printed(entry) {
    const { series, index, frame, placement } = this.state;
    const shown = series?.instances[index];
    const onScreen = sameImage(shown, entry);
    const values = onScreen && this.reducedBy() === 1 ? frame : null;
    const pending = onScreen ? this.pendingValues() : '';
    const marks = this.measurementsOn(entry).map((m) => ({ kind: m.kind, points: m.points, text: labelFor(m, entry, values, series.modality, pending) }));
    return { marks, rotation: placement.rotation, flipH: placement.flipH, flipV: placement.flipV };
  }

  /** SVG for one measurement: its outline and its label, in screen pixels. */
  shapesFor(measurement, entry) {
    const group = document.createElementNS(SVG, 'g');
    group.setAttribute('class', `measurement ${measurement.kind}${measurement.id === this.options.selected?.() ? ' selected' : ''}`);
    if (measurement.id) group.dataset.id = String(measurement.id);
    const screen = measurement.points.map((p) => this.toScreen(p));
    const add = (name, attributes) => {
      const shape = document.createElementNS(SVG, name);
      Object.entries(attributes).forEach(([key, value]) => shape.setAttribute(key, String(value)));
      group.append(shape);
      return shape;
    };
    for (const { element, attributes } of kindOf(measurement.kind).shape(screen)) add(element, attributes);
    if (measurement.mine && measurement.id === this.options.selected?.()) {
      // The points that can be dragged one at a time.
      for (const [cx, cy] of handles(measurement).map((p) => this.toScreen(p))) {
        add('circle', { cx, cy, r: 4, class: 'handle' });
      }
    }
    const text = labelFor(measurement, entry, this.valuesFrame(), this.state.series.modality, this.pendingValues());
    if (text) {
      const [x, y] = screen[screen.length - 1];
      add('text', { x: x + 6, y: y - 6, class: 'label' }).textContent = text;
    }
    return [group];
  }

  text(name, value) {
    this.element.querySelector(`[data-o="${name}"]`).textContent = value;
  }

  /** Show the overlay lines this viewport's size has room for (render/overlay-corners.js). */
  fitOverlays() {
    fitCorners(this.element, VIEWPORT_CORNERS, this.element.querySelector('[data-o="message"]'),
      this.size || this.element.getBoundingClientRect());
  }

  updateOverlays() {
    const { series, frame, index, view } = this.state;
    const t = this.options.text;
    this.text('message', this.state.error);
    if (!series) {
      this.fitOverlays();
      return;
    }
    const geometry = series.instances[index] || {};
    // A prior study's series names its study, and says it is a prior, beside the patient.
    const about = this.options.studyOf?.(series.series_uid) || null;
    // A prior's viewport shows the prior's own patient name and ID, from its data.
    this.element.querySelector('.patient-name').textContent = about?.patientName ?? this.options.patient.name;
    this.element.querySelector('.patient-id').textContent = about?.patientId ?? this.options.patient.id;
    this.text('prior', about?.prior || '');
    this.text('study', about?.study ?? this.options.study ?? '');
    this.text('linked', this.linkNote.note);
    this.text('linked-why', this.linkNote.why);
    this.element.dataset.prior = about?.prior ? 'true' : 'false';
    this.text('series', `${series.number ?? ''} ${series.description || ''}`);
    const key = Boolean(this.options.isKey?.(geometry));
    this.text('key', key ? `★ ${t.keyImages?.keyImage || ''}` : '');
    this.element.dataset.key = String(key);
    this.text('image', `${t.image} ${index + 1} / ${series.instances.length}`);
    const thickness = readable(geometry.slice_thickness);
    this.text('thickness', thickness ? `${t.thickness} ${thickness} mm` : '');
    // A position is shown only whole: three finite coordinates.
    const position = (geometry.position || []).map((v) => fixed(v, 1));
    this.text('position', position.length === 3 && position.every(Boolean)
      ? `${t.position} ${position.join(', ')} mm` : '');
    this.text('window', frame && frame.samples === 1 && Number.isFinite(view.width) && Number.isFinite(view.center)
      ? `W ${Math.round(view.width)} L ${Math.round(view.center)}` : '');
    const m = this.matrix();
    // Canvas pixels per image pixel (the matrix's column step; 1 at 1:1).
    const zoom = significant(Math.hypot(m[0], m[1]), 2);
    this.text('zoom', frame && zoom ? `${t.zoom} ${zoom}×` : '');
    // Say once which calibration the measurements use (labels name it too).
    this.text('calibration', frame && geometry.us_regions?.length ? t.usRegions : '');
    // The presentation state applied, and what of it is not shown (shell/presentation.js).
    this.text('presentation', this.presentation?.line || '');
    this.text('presentation-missing', this.presentation?.missing || '');
    // Never a reduced preview as if it were the image.
    const reduced = this.reducedBy();
    this.text('quality', reduced > 1 ? (t.reducedPreview || 'Reduced preview 1:%(factor)s').replace('%(factor)s', String(reduced)) : '');
    // The side and view of a projection image (a mammogram's "R CC"), and whether a
    // hanging mirrored it (or could not tell which way it faces).
    this.text('view', [geometry.laterality, geometry.view].filter(Boolean).join(' '));
    this.text('mirror', this.mammo ? t.mammo?.[this.mammo.state] || '' : '');
    this.element.dataset.mammo = this.mammo?.state || '';
    // Markers only where the header states the orientation; never a guess.
    const labels = frame
      ? edgeLabels(geometry.orientation, m) ?? projectionLabels(geometry.patient_orientation, m) : null;
    for (const edge of ['left', 'right', 'top', 'bottom']) this.text(edge, labels ? labels[edge] : '');
    this.fitOverlays();
    this.element.dataset.index = String(index);
    this.element.dataset.ready = frame ? 'true' : 'false';
    this.element.dataset.reduced = String(reduced);
    this.element.dataset.seriesUid = series.series_uid;
    this.options.onChange?.(this);
  }

  loadFrame(index) {
    const entry = this.state.series.instances[index];
    if (entry.missing) return Promise.reject(new Error('not here yet'));
    return this.options.loader.frame(entry);
  }

  /**
   * Show no image, only ``message`` (a hung slot whose view the study lacks says so);
   * a listing still on its way is dropped.
   */
  showEmpty(message) {
    this.opened += 1;
    this.stopCine();
    Object.assign(this.state, { series: null, frame: null, error: message });
    this.renderer.frame = null;
    this.mammo = null;
    for (const overlay of this.element.querySelectorAll('[data-o]')) overlay.textContent = '';
    // The patient stays named in every viewport, one without an image too.
    this.element.querySelector('.patient-name').textContent = this.options.patient.name;
    this.element.querySelector('.patient-id').textContent = this.options.patient.id;
    this.element.dataset.prior = 'false';
    this.element.dataset.mammo = '';
    this.draw();
  }

  /**
   * Show the series ``listing`` describes (io/api.fetchSeriesMetadata, or its promise).
   * The last series asked for wins: an earlier one still on its way is dropped.
   * @returns {Promise<boolean>} whether it is still the series asked for last
   */
  async openSeries(listing) {
    this.opened += 1;
    const request = this.opened;
    const metadata = await listing;
    if (request !== this.opened) return false;
    this.stopCine();
    // The stack is one entry a frame, so multi-frame images scroll like a series.
    this.state.series = { ...metadata, instances: expandFrames(metadata.instances) };
    this.state.frame = null;
    this.state.windowSet = false;
    this.hungWindow = null;
    this.state.placement = defaultPlacement();
    this.mammo = null; // decided again for the new series' image (placeMammo)
    this.direction = 1;
    // A hanging may name the image to open on (one view of a series of several).
    const named = this.openAt ? this.state.series.instances.findIndex((e) => e.sop_instance_uid === this.openAt) : -1;
    this.openAt = null;
    await this.show(named >= 0 ? named : Math.floor((this.state.series.instances.length - 1) / 2), { keepWindow: false });
    return request === this.opened;
  }

  /**
   * Take a newer listing of the series on screen (images arrived): the same image stays
   * in view, and zoom, pan and window are kept; an image that just arrived is shown.
   */
  async updateSeries(metadata) {
    const { state } = this;
    if (state.series?.series_uid !== metadata.series_uid) return;
    const before = state.series.instances;
    const after = expandFrames(metadata.instances);
    const index = keptIndex(before, after, state.index);
    const wasMissing = !state.frame || before[state.index]?.missing;
    state.series = { ...metadata, instances: after };
    state.index = index;
    if (wasMissing && !after[index]?.missing) await this.show(index);
    else this.draw();
  }

  async show(index, { keepWindow = true } = {}) {
    const { state } = this;
    if (!state.series) return;
    const before = state.index;
    state.index = clampIndex(index, state.series.instances.length);
    if (state.index !== before) this.direction = Math.sign(state.index - before);
    const wanted = state.index;
    const entry = state.series.instances[wanted];
    this.placeMammo();
    this.options.onShow?.(this);
    if (entry.missing) {
      // Still on its way: say so, keep zoom and window for when it lands.
      state.frame = null;
      state.error = this.options.text.arriving
        .replace('%(n)s', String(wanted + 1)).replace('%(total)s', String(state.series.instances.length));
      this.renderer.frame = null;
      this.draw();
      return;
    }
    // Whether the person scrolled on, or opened another series, meanwhile.
    const movedOn = () => {
      const now = state.series?.instances[state.index];
      return !sameImage(now, entry);
    };
    const call = { keepWindow, entry };
    try {
      const full = this.loadFrame(wanted);
      // A large image shows its reduced rendition while the frame is on its way.
      if (!this.options.loader.heldFrame?.(entry)) this.showPreview(call, movedOn);
      const frame = await full;
      if (movedOn()) return;
      this.display(frame, call);
    } catch (error) {
      if (movedOn()) return;
      state.frame = null;
      state.error = `${this.options.text.cannotShow}: ${error.message}`;
      this.renderer.frame = null;
    }
    this.draw();
  }

  /**
   * Put ``frame`` (of ``call.entry``) on screen; the window is set from it when none is
   * yet, when ``call.keepWindow`` is false, or when the one set came from a preview
   * and the person has not changed it since (the full frame's own range is the truer).
   */
  display(frame, call) {
    const { state } = this;
    const reduced = (frame.reducedBy || 1) > 1;
    state.frame = frame;
    state.frameOf = call.entry;
    state.error = '';
    // While a presentation state is chosen and the person has not changed the window
    // (a drag, a preset, invert) since it was set, each image gets the state's window
    // (or its file's, for an image the state does not name); once they have, theirs stays.
    const presentedUntouched = state.windowSet === 'presentation' && this.presentation
      && sameView(state.view, this.presentedView);
    if (!state.windowSet || !call.keepWindow || state.windowSet === 'preview' || presentedUntouched) {
      state.view = {
        ...state.view, ...initialWindow(frame), ...this.hungWindow, fn: voiFunctionCode(frame.voiFunction),
      };
      // A protocol's window waits for the full frame too, which sets the window again.
      if (!reduced) this.hungWindow = null;
      state.view.invert = frame.photometric === 'MONOCHROME1';
      state.windowSet = reduced ? 'preview' : true;
      // A chosen presentation state's window and inversion for the images it names.
      const presented = this.presentation?.view(call.entry, frame);
      if (presented) state.view = { ...state.view, ...presented };
      if (this.presentation && !reduced) {
        state.windowSet = 'presentation';
        this.presentedView = { ...state.view };
      }
    }
    // The full frame keeps a window the preview set, once the person has changed it.
    if (reduced) call.keepWindow = true;
    this.renderer.setFrame(frame);
  }

  /** Show the reduced rendition of ``call.entry``'s frame if it comes before the frame. */
  async showPreview(call, movedOn) {
    let frame = null;
    try {
      frame = await this.options.loader.preview?.(call.entry);
    } catch {
      return; // the frame came first, or the preview failed: the frame is awaited anyway
    }
    const { state } = this;
    const fullShown = state.frame && (state.frame.reducedBy || 1) === 1 && sameImage(state.frameOf, call.entry);
    if (!frame || movedOn() || fullShown) return;
    this.display(frame, call);
    this.draw();
  }

  /**
   * A mammogram a hanging placed here (``this.chestWall``: its ``chest_wall``) is
   * mirrored (or turned, when stored upside down) so its chest wall faces the middle
   * where its own orientation says so
   * (math/mammo.js); decided again only when an image of another side, view or
   * orientation comes, so a flip the person makes stays.
   */
  placeMammo() {
    const entry = this.state.series?.instances[this.state.index];
    if (!this.chestWall || !entry || this.state.series.modality !== 'MG') {
      this.mammo = null;
      return;
    }
    const decision = mammoPlacement(entry, this.chestWall);
    const key = `${decision.label}|${decision.state}`;
    // Turned and mirrored in the viewer's own placement, so the markers follow.
    if (this.mammo?.key !== key) {
      this.state.placement = { ...this.state.placement, flipH: decision.flipH, flipV: false, rotation: decision.rotation };
    }
    this.mammo = { ...decision, key };
  }

  setWindow(center, width) {
    this.state.view = { ...this.state.view, center, width: Math.max(width, 1) };
    // The person's (or a protocol's) window: the full frame keeps it.
    if (this.state.frame) this.state.windowSet = true;
    this.draw();
  }

  /**
   * The window a hanging protocol gives the series: now if its image is here, else in
   * place of the file's own when the image lands (a study still arriving), as it would
   * have been had the image been here.
   */
  hangWindow(center, width) {
    if (this.state.frame) this.setWindow(center, width);
    else this.hungWindow = { center, width: Math.max(width, 1) };
  }

  place(change) {
    this.state.placement = { ...this.state.placement, ...change };
    this.draw();
  }

  zoomBy(factor, point = [this.canvas.width / 2, this.canvas.height / 2]) {
    this.state.placement = zoomAt(this.state.placement, factor, this.canvas, point[0], point[1]);
    this.draw();
  }

  turn(degrees) {
    this.state.placement = rotate(this.state.placement, degrees);
    this.draw();
  }

  reset() {
    this.state.placement = defaultPlacement();
    this.show(this.state.index, { keepWindow: false });
  }

  toggleCine(fps) {
    if (this.cine) { this.stopCine(); return false; }
    this.cine = { last: performance.now(), handle: 0 };
    const step = (now) => {
      if (!this.cine || !this.state.series) return;
      if (now - this.cine.last >= 1000 / fps()) {
        this.cine.last = now;
        this.show((this.state.index + 1) % this.state.series.instances.length);
      }
      this.cine.handle = requestAnimationFrame(step);
    };
    this.cine.handle = requestAnimationFrame(step);
    return true;
  }

  stopCine() {
    if (this.cine) cancelAnimationFrame(this.cine.handle);
    this.cine = null;
  }

  /** Grey levels of the canvas region the image covers, with its width and height. */
  readImage() {
    this.draw();
    const m = this.matrix();
    const { columns, rows } = imageExtent(this.state.frame);
    const corners = [[0, 0], [columns, 0], [0, rows], [columns, rows]]
      .map(([u, v]) => [m[0] * u + m[2] * v + m[4], m[1] * u + m[3] * v + m[5]]);
    const xs = corners.map((c) => c[0]);
    const ys = corners.map((c) => c[1]);
    const [x, y] = [Math.round(Math.min(...xs)), Math.round(Math.min(...ys))];
    const width = Math.round(Math.max(...xs)) - x;
    const height = Math.round(Math.max(...ys)) - y;
    return { width, height, grey: Array.from(this.renderer.readRegion(x, y, width, height)) };
  }

  canvasPoint(event) {
    const box = this.canvas.getBoundingClientRect();
    const ratio = this.canvas.width / box.width;
    return [(event.clientX - box.left) * ratio, (event.clientY - box.top) * ratio];
  }

  pinchGeometry() {
    const [p, q] = [...this.pointers.values()];
    return {
      distance: Math.hypot(p[0] - q[0], p[1] - q[1]) || 1,
      mid: [(p[0] + q[0]) / 2, (p[1] + q[1]) / 2],
    };
  }

  bindInput() {
    const { canvas } = this;
    canvas.addEventListener('wheel', (event) => {
      event.preventDefault();
      if (!this.state.series) return;
      if (wheelAction(event) === 'zoom') {
        this.zoomBy(event.deltaY < 0 ? 1.1 : 1 / 1.1, this.canvasPoint(event));
      } else {
        this.show(indexForWheel(event.deltaY, this.state.index, this.state.series.instances.length));
      }
    }, { passive: false });
    canvas.addEventListener('contextmenu', (event) => event.preventDefault());
    this.bindDoubleTap();
    canvas.addEventListener('pointerdown', (event) => {
      this.options.onActivate(this);
      canvas.setPointerCapture(event.pointerId);
      const tool = this.options.tool?.();
      if (this.edit) {
        // A second finger: a pinch, not a move; the first finger pans or zooms with it.
        this.pointers.set(this.edit.pointerId, this.edit.at);
        endEdit(this, { cancel: true });
      } else if (event.button === 0 && this.pointers.size === 0 && !this.draft && startEdit(this, event)) {
        return;
      }
      // One table of bindings for stacks and MPR (input/bindings.js).
      const action = dragAction(event, { pointers: this.pointers.size + 1, tool: tool || '' });
      if (action === 'tool' && tool === 'cursor' && this.state.frame) {
        this.options.onCursor?.(this, this.imagePoint(event));
        return;
      }
      if (action === 'tool' && this.state.frame) {
        this.measureInput('down', event, tool);
        return;
      }
      this.pointers.set(event.pointerId, this.canvasPoint(event));
      const primary = this.options.dragMode?.() === 'scroll' ? 'scroll' : 'window';
      const mode = { pan: 'pan', window: 'window' }[action] || primary;
      this.drag = this.pointers.size === 1
        ? {
          mode, x: event.clientX, y: event.clientY,
          index: this.state.index,
          view: { ...this.state.view }, placement: { ...this.state.placement },
        }
        : { mode: 'pinch', placement: { ...this.state.placement }, start: this.pinchGeometry() };
    });
    canvas.addEventListener('pointermove', (event) => {
      if (this.edit) moveEdit(this, event);
      else if (this.draft) this.measureInput('move', event);
      else this.onPointerMove(event);
    });
    const release = (event) => {
      if (this.edit?.pointerId === event.pointerId) endEdit(this, { cancel: event.type === 'pointercancel' });
      if (this.draft && event.type === 'pointerup') this.measureInput('up', event);
      this.pointers.delete(event.pointerId);
      this.drag = null;
    };
    canvas.addEventListener('pointerup', release);
    canvas.addEventListener('pointercancel', release);
  }

  /**
   * Follow each lone finger over the whole viewport (image, labels and all) to tell a
   * tap, and a double tap, from a drag, whatever the press started: browsers differ in
   * whether two taps make a dblclick, and none does when a label took the press.
   */
  bindDoubleTap() {
    let touch = null;
    let lastTap = null;
    const fingers = new Set();
    this.element.addEventListener('pointerdown', (event) => {
      if (event.pointerType !== 'touch') return;
      fingers.add(event.pointerId);
      // A second finger makes a pinch, not a tap.
      touch = fingers.size === 1
        ? { id: event.pointerId, x: event.clientX, y: event.clientY, down: event.timeStamp, moved: 0 } : null;
    }, true);
    this.element.addEventListener('pointermove', (event) => {
      if (touch?.id !== event.pointerId) return;
      touch.moved = Math.max(touch.moved, Math.hypot(event.clientX - touch.x, event.clientY - touch.y));
    }, true);
    const lift = (event) => {
      fingers.delete(event.pointerId);
      if (touch?.id !== event.pointerId) return;
      if (event.type === 'pointerup') {
        const lifted = { ...touch, x: event.clientX, y: event.clientY, up: event.timeStamp };
        const { tap, double } = tapKind(lifted, lastTap);
        lastTap = tap && !double ? lifted : null;
        if (double) this.options.onDoubleTap?.(this);
      }
      touch = null;
    };
    this.element.addEventListener('pointerup', lift, true);
    this.element.addEventListener('pointercancel', lift, true);
  }

  /** Image point [column, row] (pixel centres at whole numbers) under the pointer. */
  imagePoint(event) {
    const [x, y] = this.canvasPoint(event);
    const { u, v } = canvasToImage(this.matrix(), x, y);
    return [u - 0.5, v - 0.5];
  }

  measureInput(phase, event, tool) {
    const point = this.imagePoint(event);
    let step;
    if (phase === 'down') step = pointerDown(this.draft, tool, point);
    else if (phase === 'move') step = { draft: pointerMove(this.draft, point), done: false };
    else step = pointerUp(this.draft);
    this.draft = step.draft;
    if (step.done) {
      const entry = this.state.series.instances[this.state.index];
      const finished = {
        ...this.draft,
        // A key image's entry names its own series (the key series is made of references).
        series_uid: entry.series_uid || this.state.series.series_uid,
        sop_instance_uid: entry.sop_instance_uid,
        frame: entry.frame,
      };
      this.draft = null;
      this.options.onMeasure?.(this, finished);
    }
    this.drawAnnotations();
  }

  /** Show or hide the magnifying loupe that follows the pointer. */
  toggleMagnifier() {
    this.magnifier = !this.magnifier;
    if (!this.magnifier) this.loupe.hidden = true;
    return this.magnifier;
  }

  drawLoupe(event) {
    // Copies the drawn pixels around the pointer, three times larger, unsmoothed.
    const [x, y] = this.canvasPoint(event);
    const size = this.loupe.width;
    const source = size / 3;
    const context = this.loupe.getContext('2d');
    context.imageSmoothingEnabled = false;
    context.fillStyle = '#000';
    context.fillRect(0, 0, size, size);
    context.drawImage(this.canvas, x - source / 2, y - source / 2, source, source, 0, 0, size, size);
    const box = this.canvas.getBoundingClientRect();
    this.loupe.style.left = `${event.clientX - box.left - size / 2}px`;
    this.loupe.style.top = `${event.clientY - box.top - size / 2}px`;
    this.loupe.hidden = false;
  }

  onPointerMove(event) {
    const { drag, state, canvas } = this;
    if (this.magnifier && !drag) this.drawLoupe(event);
    if (!drag || !this.pointers.has(event.pointerId)) return;
    this.pointers.set(event.pointerId, this.canvasPoint(event));
    if (drag.mode === 'pinch' && this.pointers.size >= 2) {
      const now = this.pinchGeometry();
      const zoomed = zoomAt(drag.placement, now.distance / drag.start.distance, canvas,
        drag.start.mid[0], drag.start.mid[1]);
      this.place({
        ...zoomed,
        panX: zoomed.panX + now.mid[0] - drag.start.mid[0],
        panY: zoomed.panY + now.mid[1] - drag.start.mid[1],
      });
    } else if (drag.mode === 'pan') {
      const ratio = canvas.width / canvas.getBoundingClientRect().width;
      this.place({
        panX: drag.placement.panX + (event.clientX - drag.x) * ratio,
        panY: drag.placement.panY + (event.clientY - drag.y) * ratio,
      });
    } else if (drag.mode === 'scroll' && state.series) {
      // One image per 8 CSS pixels of vertical travel, like dragging a film strip.
      const steps = Math.round((event.clientY - drag.y) / 8);
      const next = clampIndex(drag.index + steps, state.series.instances.length);
      if (next !== state.index) this.show(next);
    } else if (drag.mode === 'window' && state.frame) {
      const range = Math.max(state.frame.max - state.frame.min, 1);
      const next = dragWindow(drag.view, event.clientX - drag.x, event.clientY - drag.y,
        range / 512);
      this.setWindow(next.center, next.width);
    }
  }
}
