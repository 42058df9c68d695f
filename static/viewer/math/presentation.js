/**
 * Grayscale Softcopy Presentation States applied to a stack image: which parts apply to
 * an image, the window in the image's own units, rotation and flip as the viewer's
 * placement, the displayed area's fit, and where graphics, texts and shutters lie on
 * the canvas. Pure: no DOM. The states come from viewer/reading/presentation.py:
 * PIXEL points are (column, row) from the top-left corner of the top-left pixel (the
 * same image coordinates as math/transform.js imageToCanvas), DISPLAY points are
 * fractions of the displayed area as shown, area corners and shutter edges are 1-based
 * pixel indices.
 * @module math/presentation
 */

/**
 * @typedef {{sop_instance_uid: string, frames: number[] | null}} Reference
 * @typedef {{sop_instance_uid: string, frame?: number}} Entry a stack entry
 */

/** Whether ``references`` (null: every image of the state) include ``entry``. */
export function refersTo(references, entry) {
  if (!references) return true;
  return references.some((ref) => ref.sop_instance_uid === entry?.sop_instance_uid
    && (!ref.frames || ref.frames.includes(entry.frame || 1)));
}

/** Whether the state applies to stack ``entry`` at all. */
export function appliesTo(state, entry) {
  return Object.values(state.applies_to || {}).some((refs) => refersTo(refs, entry));
}

/** The states that apply to some image of ``series`` ({series_uid, instances}), in order. */
export function statesForSeries(states, series) {
  if (!series) return [];
  return states.filter((state) => (state.applies_to || {})[series.series_uid]
    || series.instances.some((entry) => appliesTo(state, entry)));
}

/** The first of ``items`` (each with ``applies_to``) that applies to ``entry``, or null. */
export function itemFor(items, entry) {
  return (items || []).find((item) => refersTo(item.applies_to, entry)) || null;
}

const IDENTITY_LUT = { slope: 1, intercept: 0 };

/**
 * The state's window for ``entry`` in the frame's own (rescaled) units: the state's
 * Modality LUT (the identity when it has none) turns its window into the image's units.
 * ``reversed`` (only when true): the two scales run opposite ways, so the window's ramp
 * runs downwards in the image's units. Null when none applies.
 * @param {object} state
 * @param {Entry} entry
 * @param {{slope?: number, intercept?: number}} frame
 * @returns {{center: number, width: number, function: string, reversed?: boolean} | null}
 */
export function windowFor(state, entry, frame) {
  if (!appliesTo(state, entry)) return null;
  const voi = itemFor(state.voi, entry);
  if (!voi) return null;
  // PS3.4 N.2.1.1: a state without a Modality LUT has the identity one, and the image's
  // rescale is not used: its window is then in stored values.
  const lut = state.modality_lut?.slope ? state.modality_lut : IDENTITY_LUT;
  const slope = frame?.slope || 1;
  const intercept = frame?.intercept || 0;
  if (lut.slope === slope && lut.intercept === intercept) {
    return { center: voi.center, width: voi.width, function: voi.function };
  }
  // A state's value v is stored value (v - i') / s'; the image shows s * stored + i.
  const toImage = (v) => ((v - lut.intercept) / lut.slope) * slope + intercept;
  const ratio = slope / lut.slope;
  const window = { center: toImage(voi.center), width: Math.abs(voi.width * ratio), function: voi.function };
  return ratio < 0 ? { ...window, reversed: true } : window;
}

/**
 * The viewer's rotation and flip for the state's spatial transformation. PS3.3 C.10.6:
 * Image Rotation turns clockwise "before any Image Horizontal Flip", and the flip comes
 * "after any Image Rotation"; the viewer's imageToCanvas also turns first and then
 * mirrors the screen, so both carry over as they are.
 * @returns {{rotation: number, flipH: boolean, flipV: boolean}}
 */
export function spatialPlacement(state) {
  const rotation = ((Number(state.rotation) || 0) % 360 + 360) % 360;
  return { rotation, flipH: Boolean(state.flip_horizontal), flipV: false };
}

/**
 * The displayed area in image coordinates: from the top-left corner of its first pixel
 * to the bottom-right corner of its last (its corners may come in any order after the
 * spatial transformation, and may lie outside the image).
 * @returns {{u0: number, v0: number, u1: number, v1: number}}
 */
export function areaRect(area) {
  const [x1, y1] = area.top_left;
  const [x2, y2] = area.bottom_right;
  return {
    u0: Math.min(x1, x2) - 1, v0: Math.min(y1, y2) - 1, u1: Math.max(x1, x2), v1: Math.max(y1, y2),
  };
}

/**
 * Zoom and pan that show the displayed area ``area`` as the state says: fitted to the
 * canvas (SCALE TO FIT, and TRUE SIZE, which a browser cannot know), or at its
 * magnification (MAGNIFY: canvas pixels per image pixel), centred.
 * @param {object} area a displayed_area item
 * @param {{columns: number, rows: number, spacing?: number[]}} image
 * @param {{width: number, height: number}} canvas
 * @param {(image: object, canvas: object, placement: object) => number[]} imageToCanvas
 *   math/transform.js imageToCanvas
 * @param {object} placement rotation and flips already set
 * @returns {{zoom: number, panX: number, panY: number}}
 */
export function fitArea(area, image, canvas, imageToCanvas, placement) {
  const rect = areaRect(area);
  const [rowSpacing, colSpacing] = image.spacing || [1, 1];
  const base = { ...placement, zoom: 1, panX: 0, panY: 0, oneToOne: false };
  const m = imageToCanvas(image, canvas, base);
  const fit = Math.hypot(m[0], m[1]) / colSpacing; // canvas pixels per mm at zoom 1
  const turned = ((placement.rotation / 90) % 2 + 2) % 2 === 1;
  const widthMm = (rect.u1 - rect.u0) * colSpacing;
  const heightMm = (rect.v1 - rect.v0) * rowSpacing;
  const [shownWidth, shownHeight] = turned ? [heightMm, widthMm] : [widthMm, heightMm];
  let perMm = Math.min(canvas.width / shownWidth, canvas.height / shownHeight);
  if (area.size_mode === 'MAGNIFY' && area.magnification > 0) perMm = area.magnification / colSpacing;
  const zoom = perMm / fit;
  const uc = (rect.u0 + rect.u1) / 2;
  const vc = (rect.v0 + rect.v1) / 2;
  const x = m[0] * uc + m[2] * vc + m[4];
  const y = m[1] * uc + m[3] * vc + m[5];
  // At zoom z the image scales about the canvas centre: the area's centre goes there.
  return { zoom, panX: -zoom * (x - canvas.width / 2), panY: -zoom * (y - canvas.height / 2) };
}

/** Apply matrix ``m`` to image point [u, v]. */
export function apply(m, [u, v]) {
  return [m[0] * u + m[2] * v + m[4], m[1] * u + m[3] * v + m[5]];
}

/**
 * The displayed area's rectangle on the canvas under ``m`` (quarter turns keep it
 * axis-aligned): where DISPLAY units lie.
 * @returns {{x: number, y: number, width: number, height: number}}
 */
export function areaOnCanvas(area, m) {
  const rect = areaRect(area);
  const corners = [[rect.u0, rect.v0], [rect.u1, rect.v1]].map((p) => apply(m, p));
  const xs = corners.map((c) => c[0]);
  const ys = corners.map((c) => c[1]);
  const x = Math.min(...xs);
  const y = Math.min(...ys);
  return { x, y, width: Math.max(...xs) - x, height: Math.max(...ys) - y };
}

/**
 * A point of the state on the canvas: PIXEL points through the image's matrix (they
 * follow zoom and pan), DISPLAY points as fractions of the displayed area shown.
 */
export function toCanvas(point, units, m, displayRect) {
  if (units === 'DISPLAY') {
    return [displayRect.x + point[0] * displayRect.width, displayRect.y + point[1] * displayRect.height];
  }
  return apply(m, point);
}

/**
 * What to draw for one graphic object, in canvas pixels:
 * {kind: 'polyline', points, closed} | {kind: 'ellipse', cx, cy, rx, ry, angle} |
 * {kind: 'point', x, y}.
 */
export function graphicShape(graphic, m, displayRect) {
  const points = graphic.points.map((p) => toCanvas(p, graphic.units, m, displayRect));
  if (graphic.type === 'POINT') return { kind: 'point', x: points[0][0], y: points[0][1], filled: graphic.filled };
  if (graphic.type === 'CIRCLE') {
    // Centre, then a point on the circle: its radius along both image axes, which
    // quarter turns keep along the canvas axes (non-square pixels make an ellipse).
    const [[cu, cv], [pu, pv]] = graphic.points;
    const radius = Math.hypot(pu - cu, pv - cv);
    const [cx, cy] = points[0];
    if (graphic.units === 'DISPLAY') {
      const r = radius * Math.min(displayRect.width, displayRect.height);
      return { kind: 'ellipse', cx, cy, rx: r, ry: r, angle: 0, filled: graphic.filled };
    }
    const ex = [m[0] * radius, m[1] * radius];
    const ey = [m[2] * radius, m[3] * radius];
    return {
      kind: 'ellipse', cx, cy, rx: Math.abs(ex[0]) + Math.abs(ey[0]), ry: Math.abs(ex[1]) + Math.abs(ey[1]), angle: 0, filled: graphic.filled,
    };
  }
  if (graphic.type === 'ELLIPSE') {
    // Major axis end points, then minor axis end points.
    const [a, b, c, d] = points;
    const cx = (a[0] + b[0]) / 2;
    const cy = (a[1] + b[1]) / 2;
    return {
      kind: 'ellipse', cx, cy,
      rx: Math.hypot(b[0] - a[0], b[1] - a[1]) / 2,
      ry: Math.hypot(d[0] - c[0], d[1] - c[1]) / 2,
      angle: Math.atan2(b[1] - a[1], b[0] - a[0]),
      filled: graphic.filled,
    };
  }
  // POLYLINE, and INTERPOLATED drawn through its points; closed when it ends where it began.
  const [first, last] = [points[0], points[points.length - 1]];
  const closed = points.length > 2 && first[0] === last[0] && first[1] === last[1];
  return { kind: 'polyline', points, closed, filled: graphic.filled && closed };
}

/**
 * Where a text object goes on the canvas: its box's top-left corner (or beside its
 * anchor) and, when the anchor is to be shown, the line from the box to it.
 * @returns {{x: number, y: number, width: number, anchor: number[] | null}}
 */
export function textPlace(text, m, displayRect) {
  const anchor = text.anchor ? toCanvas(text.anchor, text.anchor_units, m, displayRect) : null;
  if (text.box) {
    const corners = text.box.map((p) => toCanvas(p, text.box_units, m, displayRect));
    const x = Math.min(corners[0][0], corners[1][0]);
    const y = Math.min(corners[0][1], corners[1][1]);
    const width = Math.abs(corners[1][0] - corners[0][0]);
    return { x, y, width, anchor: text.anchor_visible ? anchor : null };
  }
  return { x: anchor[0] + 6, y: anchor[1] + 6, width: 0, anchor: text.anchor_visible ? anchor : null };
}

/**
 * The shutter's shapes in image coordinates: the region shown is inside every shape;
 * the rest is masked. Rectangle: its edges are the first and last pixels kept;
 * circle and polygon: given at pixel centres.
 * @returns {Array<{kind: 'rect', u0: number, v0: number, u1: number, v1: number}
 *   | {kind: 'circle', u: number, v: number, r: number} | {kind: 'polygon', points: number[][]}>}
 */
export function shutterShapes(shutters) {
  if (!shutters) return [];
  return shutters.shapes.map((shape) => {
    if (shape.shape === 'RECTANGULAR') {
      return { kind: 'rect', u0: shape.left - 1, v0: shape.top - 1, u1: shape.right, v1: shape.bottom };
    }
    if (shape.shape === 'CIRCULAR') {
      return { kind: 'circle', u: shape.center[0] - 0.5, v: shape.center[1] - 0.5, r: shape.radius };
    }
    return { kind: 'polygon', points: shape.points.map(([c, r]) => [c - 0.5, r - 0.5]) };
  });
}

/** Whether image point [u, v] is shown through the shutters (inside every shape). */
export function insideShutters(shapes, [u, v]) {
  return shapes.every((shape) => {
    if (shape.kind === 'rect') return u >= shape.u0 && u <= shape.u1 && v >= shape.v0 && v <= shape.v1;
    if (shape.kind === 'circle') return Math.hypot(u - shape.u, v - shape.v) <= shape.r;
    // Even-odd rule.
    let inside = false;
    const p = shape.points;
    for (let i = 0, j = p.length - 1; i < p.length; j = i, i += 1) {
      if ((p[i][1] > v) !== (p[j][1] > v)
        && u < ((p[j][0] - p[i][0]) * (v - p[i][1])) / (p[j][1] - p[i][1]) + p[i][0]) inside = !inside;
    }
    return inside;
  });
}

/** The layer's colour for an annotation (the first layer of that name), or ``fallback``. */
export function layerColour(state, name, fallback = '#ffd21f') {
  return (state.layers || []).find((layer) => layer.name === name)?.colour || fallback;
}

/** Annotations of ``state`` on ``entry``, by layer order (lower drawn first). */
export function annotationsFor(state, entry) {
  const order = new Map((state.layers || []).map((layer) => [layer.name, layer.order]));
  return (state.annotations || []).filter((a) => refersTo(a.applies_to, entry))
    .map((a, i) => ({ a, i })).sort((p, q) => ((order.get(p.a.layer) ?? 0) - (order.get(q.a.layer) ?? 0)) || p.i - q.i)
    .map(({ a }) => a);
}
