/**
 * Moving finished measurements in a viewport with mouse, pen or finger: a handle moves
 * one point, the outline, label or (selected ROI) inside the whole measurement; the
 * change is handed on when the pointer comes up. The geometry is in tools/edit.js.
 * @module input/measure-drag
 */
import { changed, dragTo, hitTest } from '../tools/edit.js';

// How near the pointer must come, in CSS pixels: a fingertip is wider than a mouse.
const REACH = { mouse: 6, pen: 8, touch: 16 };

/** This person's measurements on the image the viewport shows (only the owner moves one). */
function editable(viewport) {
  const { state } = viewport;
  const entry = state.series?.instances[state.index];
  if (!state.frame || !entry) return [];
  return viewport.measurementsOn(entry).filter((m) => m.mine);
}

/** Image pixels per CSS pixel at the viewport's present zoom. */
function imagePerCss(viewport) {
  const m = viewport.matrix();
  return (window.devicePixelRatio || 1) / Math.max(Math.hypot(m[0], m[1]), 1e-6);
}

/**
 * Grab the measurement under the pointer, or the one whose label was pressed (``id``).
 * With a drawing tool chosen only the selected measurement's handles can be grabbed,
 * so new shapes can still be drawn over old ones. A press on nothing with no tool
 * chosen lets go of the selection.
 * @param {import('../viewport.js').Viewport} viewport
 * @param {PointerEvent} event
 * @param {number | null} [id]
 * @returns {boolean} whether the pointer now moves a measurement
 */
export function startEdit(viewport, event, id = null) {
  const here = editable(viewport);
  const point = viewport.imagePoint(event);
  const selected = viewport.options.selected?.() ?? null;
  const drawing = Boolean(viewport.options.tool?.());
  let hit = id === null ? null : { id, handle: null };
  if (id === null) {
    const candidates = drawing ? here.filter((m) => m.id === selected) : here;
    const tolerance = (REACH[event.pointerType] || REACH.mouse) * imagePerCss(viewport);
    hit = hitTest(candidates, point, tolerance, { selected, handlesOnly: drawing });
  }
  const measurement = hit && here.find((m) => m.id === hit.id);
  if (!measurement) {
    if (!drawing && id === null && selected !== null) viewport.options.onSelectMeasurement?.(null);
    return false;
  }
  viewport.edit = {
    pointerId: event.pointerId, measurement, handle: hit.handle, start: point,
    before: measurement.points.map((p) => [...p]), at: viewport.canvasPoint(event),
  };
  if (measurement.id !== selected) viewport.options.onSelectMeasurement?.(measurement.id);
  return true;
}

/** The grabbed measurement follows the pointer. */
export function moveEdit(viewport, event) {
  const { edit } = viewport;
  if (event.pointerId !== edit.pointerId) return;
  edit.at = viewport.canvasPoint(event);
  const { kind } = edit.measurement;
  edit.measurement.points = dragTo(
    { kind, points: edit.before, handle: edit.handle, start: edit.start }, viewport.imagePoint(event),
  );
  viewport.drawAnnotations();
}

/**
 * Let go: hand a change on to ``onEditMeasurement``, or with ``cancel`` put the points
 * back (a second finger came down: that is a pinch, not a move).
 * @param {import('../viewport.js').Viewport} viewport
 * @param {{cancel?: boolean}} [options]
 */
export function endEdit(viewport, { cancel = false } = {}) {
  const { edit } = viewport;
  viewport.edit = null;
  if (!edit) return;
  if (cancel) {
    edit.measurement.points = edit.before;
    viewport.drawAnnotations();
  } else if (changed(edit.before, edit.measurement.points)) {
    viewport.options.onEditMeasurement?.(edit.measurement, edit.before);
  }
}
