/**
 * The viewport's Presentation choice: "Image (no presentation state)" (the default) or
 * one of the study's GSPS that reference the viewport's series. Choosing one applies its
 * window and inversion (viewport.display asks ``viewport.presentation.view``), rotation
 * and flip (the viewport's own placement, so orientation markers follow), displayed
 * area, and draws its shutters, graphics and texts on a canvas layer over the image;
 * the overlay says "PR: <label>" and what is not shown. Maths in math/presentation.js.
 * @module shell/presentation
 */
import {
  annotationsFor, appliesTo, areaOnCanvas, fitArea, graphicShape, itemFor, layerColour,
  shutterShapes, spatialPlacement, statesForSeries, textPlace, windowFor,
} from '../math/presentation.js';
import { defaultPlacement, imageExtent, imageToCanvas } from '../math/transform.js';
import { voiFunctionCode } from '../math/voi.js';

const NONE = '';

export class PresentationChoice {
  /** @param {{text: object}} options text: viewer_text.presentation */
  constructor({ text }) {
    this.text = text || {};
    this.states = [];
    this.version = 0;
  }

  /** The study's states arrived (io/presentation.js): every viewport offers them. */
  setStates(states) {
    this.states = states;
    this.version += 1;
  }

  /** After each draw of ``viewport`` (its onDrawn): the choice, then the layer. */
  drawn(viewport) {
    if (!viewport.presentationUi) this.attach(viewport);
    this.offer(viewport);
    this.paint(viewport);
  }

  attach(viewport) {
    const box = document.createElement('div');
    box.className = 'presentation-choice';
    box.hidden = true;
    const badge = document.createElement('span');
    badge.className = 'badge';
    badge.setAttribute('aria-hidden', 'true');
    badge.textContent = 'PR ▾';
    const select = document.createElement('select');
    select.setAttribute('aria-label', this.text.choose || 'Presentation');
    select.title = this.text.choose || 'Presentation';
    select.addEventListener('change', () => this.choose(viewport, select.value));
    box.append(badge, select);
    viewport.element.append(box);
    // The layer over the image is made when a state is first shown in this viewport:
    // a viewport that never shows one has nothing over its image.
    viewport.presentationUi = { box, select, layer: null, key: '' };
  }

  /** Offer the states that reference the viewport's series; a new series starts without. */
  offer(viewport) {
    const ui = viewport.presentationUi;
    const series = viewport.state.series;
    const key = `${this.version}|${series?.series_uid || ''}`;
    if (ui.key === key) return;
    const seriesChanged = ui.key.split('|')[1] !== (series?.series_uid || '');
    ui.key = key;
    const offered = statesForSeries(this.states, series);
    if (seriesChanged && viewport.presentation) {
      // Another series: back to the image itself, and the overlay stops naming the state.
      viewport.presentation = null;
      viewport.element.dataset.presentation = '';
      viewport.updateOverlays();
    }
    const options = [new Option(this.text.none || 'Image (no presentation state)', NONE)];
    for (const state of offered) {
      const label = state.label || this.text.unnamed || '(no label)';
      options.push(new Option(state.date ? `${label} (${state.date})` : label, state.sop_instance_uid));
    }
    ui.select.replaceChildren(...options);
    ui.select.value = viewport.presentation?.state.sop_instance_uid || NONE;
    ui.box.hidden = offered.length === 0;
    viewport.element.dataset.presentationStates = String(offered.length);
  }

  /** Apply the state ``uid`` to ``viewport`` ('' returns to the image itself). */
  choose(viewport, uid) {
    const state = this.states.find((s) => s.sop_instance_uid === uid);
    viewport.presentationUi.select.value = state ? uid : NONE;
    viewport.element.dataset.presentation = state ? uid : '';
    if (!state) {
      viewport.presentation = null;
      viewport.reset(); // the default placement and the file's own window
      return;
    }
    const t = this.text;
    viewport.presentation = {
      state,
      line: (t.applied || 'PR: %(label)s').replace('%(label)s', state.label || t.unnamed || ''),
      missing: state.not_shown.length
        ? (t.notShown || 'not shown: %(what)s').replace('%(what)s', state.not_shown.join('; ')) : '',
      view: (entry, frame) => presentedView(state, entry, frame),
    };
    const { series, index, frame } = viewport.state;
    const entry = series.instances[index];
    let placement = { ...defaultPlacement(), ...spatialPlacement(state) };
    const area = itemFor(state.displayed_area, entry);
    const extent = frame ? imageExtent(frame) : { columns: entry.columns, rows: entry.rows };
    if (area && extent.columns && extent.rows) {
      const image = { ...extent, spacing: entry.pixel_spacing };
      placement = { ...placement, ...fitArea(area, image, viewport.canvas, imageToCanvas, placement) };
    }
    viewport.state.placement = placement;
    viewport.show(index, { keepWindow: false });
  }

  /** Draw the chosen state's shutters, graphics and texts over the image on screen. */
  paint(viewport) {
    const ui = viewport.presentationUi;
    if (!ui.layer) {
      if (!viewport.presentation) return;
      ui.layer = document.createElement('canvas');
      ui.layer.className = 'presentation-layer';
      ui.layer.setAttribute('aria-hidden', 'true');
      viewport.canvas.after(ui.layer);
    }
    const { layer } = ui;
    const { canvas } = viewport;
    if (layer.width !== canvas.width || layer.height !== canvas.height) {
      layer.width = canvas.width;
      layer.height = canvas.height;
    }
    const context = layer.getContext('2d');
    context.setTransform(1, 0, 0, 1, 0, 0);
    context.clearRect(0, 0, layer.width, layer.height);
    const state = viewport.presentation?.state;
    const { series, index, frame } = viewport.state;
    const entry = series?.instances[index];
    let drawn = 0;
    if (state && frame && entry && appliesTo(state, entry)) {
      const m = viewport.matrix();
      const ratio = window.devicePixelRatio || 1;
      drawShutters(context, state, m, layer);
      const { columns, rows } = imageExtent(frame);
      const area = itemFor(state.displayed_area, entry)
        || { top_left: [1, 1], bottom_right: [columns, rows] };
      const display = areaOnCanvas(area, m);
      for (const annotation of annotationsFor(state, entry)) {
        const colour = layerColour(state, annotation.layer);
        for (const graphic of annotation.graphics) {
          drawGraphic(context, graphicShape(graphic, m, display), colour, ratio);
          drawn += 1;
        }
        for (const text of annotation.texts) {
          drawText(context, text.text, textPlace(text, m, display), colour, ratio);
          drawn += 1;
        }
      }
    }
    viewport.element.dataset.presentationDrawn = String(drawn);
  }
}

/** The state's window and inversion for ``entry``: what viewport.display puts in its view. */
export function presentedView(state, entry, frame) {
  if (!appliesTo(state, entry)) return null;
  const view = { invert: state.presentation_lut_shape === 'INVERSE' };
  const voi = windowFor(state, entry, frame);
  if (voi) Object.assign(view, { center: voi.center, width: Math.max(voi.width, 1), fn: voiFunctionCode(voi.function) });
  // A window whose ramp runs downwards in the image's units: the same grey as inverted.
  if (voi?.reversed) view.invert = !view.invert;
  return view;
}

function drawShutters(context, state, m, layer) {
  const shapes = shutterShapes(state.shutters);
  if (!shapes.length) return;
  context.save();
  context.fillStyle = state.shutters.colour || '#000';
  context.fillRect(0, 0, layer.width, layer.height);
  // What is shown lies inside every shape: clip to each in turn, then clear.
  context.setTransform(m[0], m[1], m[2], m[3], m[4], m[5]);
  for (const shape of shapes) {
    context.beginPath();
    if (shape.kind === 'rect') context.rect(shape.u0, shape.v0, shape.u1 - shape.u0, shape.v1 - shape.v0);
    else if (shape.kind === 'circle') context.arc(shape.u, shape.v, shape.r, 0, 2 * Math.PI);
    else {
      shape.points.forEach(([u, v], i) => (i ? context.lineTo(u, v) : context.moveTo(u, v)));
      context.closePath();
    }
    context.clip();
  }
  context.setTransform(1, 0, 0, 1, 0, 0);
  context.clearRect(0, 0, layer.width, layer.height);
  context.restore();
}

function drawGraphic(context, shape, colour, ratio) {
  context.save();
  context.strokeStyle = colour;
  context.fillStyle = colour;
  context.lineWidth = 2 * ratio;
  context.shadowColor = 'rgba(0, 0, 0, 0.8)';
  context.shadowBlur = 2 * ratio;
  context.beginPath();
  if (shape.kind === 'point') {
    const r = 3 * ratio;
    context.moveTo(shape.x - 2 * r, shape.y);
    context.lineTo(shape.x + 2 * r, shape.y);
    context.moveTo(shape.x, shape.y - 2 * r);
    context.lineTo(shape.x, shape.y + 2 * r);
  } else if (shape.kind === 'ellipse') {
    context.ellipse(shape.cx, shape.cy, shape.rx, shape.ry, shape.angle, 0, 2 * Math.PI);
  } else {
    shape.points.forEach(([x, y], i) => (i ? context.lineTo(x, y) : context.moveTo(x, y)));
    if (shape.closed) context.closePath();
  }
  if (shape.filled) {
    context.globalAlpha = 0.35;
    context.fill();
    context.globalAlpha = 1;
  }
  context.stroke();
  context.restore();
}

function drawText(context, text, place, colour, ratio) {
  context.save();
  context.font = `${13 * ratio}px sans-serif`;
  context.textBaseline = 'top';
  context.fillStyle = colour;
  context.strokeStyle = colour;
  context.shadowColor = 'rgba(0, 0, 0, 0.9)';
  context.shadowBlur = 3 * ratio;
  if (place.anchor) {
    context.lineWidth = 1.5 * ratio;
    context.beginPath();
    context.moveTo(place.x, place.y);
    context.lineTo(place.anchor[0], place.anchor[1]);
    context.stroke();
  }
  context.fillText(text, place.x, place.y);
  context.restore();
}
