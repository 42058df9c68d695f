/**
 * Which overlay lines each corner of an image shows, so that no two texts meet at any
 * viewport size: the corners stay clear of each other, of the orientation markers at
 * the middle of each edge and of the message in the middle. Where a corner's column is
 * too narrow, the corners of that edge stack under (or over) the edge's marker across
 * the whole width instead. Lines with no room are dropped, lowest priority first; the
 * patient's name and ID last. Pure: sizes come in as numbers (CSS pixels).
 * @module math/corners
 */

/** The four corners, in the order they are built. */
export const CORNERS = Object.freeze(['top-left', 'top-right', 'bottom-left', 'bottom-right']);

/** The lines that name the patient: kept longest, and shown cut rather than dropped. */
export const IDENTITY = Object.freeze(['patient-name', 'patient-id']);

/** Lines shown cut rather than dropped for want of width: the patient's identity, the
 * note that the image is a reduced preview (it must never pass for the image), that it
 * is a prior's, and the presentation state applied. */
const NEVER_DROPPED_FOR_WIDTH = Object.freeze([...IDENTITY, 'quality', 'prior', 'presentation']);

/**
 * @typedef {object} LineSpec
 * @property {string} name the line's overlay name (its data-o)
 * @property {number} priority higher stays longer when there is no room
 * @property {boolean} [whole] numbers: shown whole or not at all, never cut by an ellipsis
 */

const line = (name, priority, whole = false) => Object.freeze({ name, priority, whole });

/** A stack viewport's corners, lines top to bottom. */
export const VIEWPORT_CORNERS = Object.freeze({
  // 'prior': an image of a prior study says so (its date) beside the patient, kept
  // right after the identity: the same patient's older image must never pass for today's.
  'top-left': Object.freeze([line('patient-name', 100), line('patient-id', 90), line('prior', 89)]),
  // 'linked', 'linked-why': a prior linked to the current study across frames of
  // reference, approximately (two short lines: one long one would be cut).
  // 'key': the image shown is a key image (a filled star).
  // 'view': a projection image's side and view ("R CC"); 'mirror': a hung mammogram
  // mirrored, or left as stored for want of an orientation (math/mammo.js).
  'top-right': Object.freeze([
    line('view', 88), line('mirror', 83), line('study', 20), line('series', 60), line('linked', 86), line('linked-why', 84), line('key', 50),
  ]),
  // 'presentation': the presentation state applied ("PR: <label>"), kept after the
  // identity: a saved window and marks must not pass for the image itself; then
  // 'presentation-missing': what of it is not shown.
  'bottom-left': Object.freeze([
    line('presentation', 87), line('presentation-missing', 45),
    line('image', 70, true), line('position', 30, true), line('thickness', 40, true), line('plane', 80),
  ]),
  // 'quality': a reduced preview says so until the full image is in (kept before all
  // but the patient's identity: the image must not pass for full resolution).
  'bottom-right': Object.freeze([
    line('quality', 85), line('window', 75, true), line('zoom', 25, true), line('calibration', 65),
  ]),
});

/** An MPR pane's corners, lines top to bottom. */
export const MPR_CORNERS = Object.freeze({
  'top-left': Object.freeze([line('patient-name', 100), line('patient-id', 90)]),
  'top-right': Object.freeze([line('plane', 80, true), line('slab', 72, true)]),
  'bottom-left': Object.freeze([line('position', 30, true)]),
  'bottom-right': Object.freeze([line('window', 75, true)]),
});

/**
 * The overlay's measures in CSS pixels; static/css/overlays.css holds the same numbers
 * as custom properties (--o-pad-x and so on), which the caller reads and passes in.
 * ``markerHalf``: half the width kept free at the middle of the top and bottom edges;
 * ``marker``: the height of a marker's line; ``minText``: the narrowest column a line
 * other than the patient's is shown cut in; ``slack``: the room a whole line keeps,
 * for rounding; ``message``: the height of the message in the middle, 0 when none.
 */
export const FRAME = Object.freeze({
  padX: 8, padY: 6, marker: 20, markerHalf: 26, gap: 4, minText: 48, slack: 2, message: 0,
});

/**
 * @typedef {object} CornerLine
 * @property {string} name
 * @property {number} priority higher stays longer
 * @property {number} width its text's natural width, CSS px; 0 when it has no text
 * @property {number} [height] its height, CSS px, when not the common line height
 *   (the patient's name is set larger)
 * @property {boolean} [whole] shown whole or not at all
 */

/**
 * @typedef {object} CornerPlan
 * @property {Object<string, string[]>} shown each corner's lines to show, top to bottom
 * @property {{top: boolean, bottom: boolean}} stacked whether the corners of that edge
 *   stack across the width on the image side of the edge's marker, left corner first
 * @property {Object<string, number>} skip CSS px to leave free before a corner's first
 *   line, counted from its edge's marker (the other corner's lines when stacked)
 * @property {boolean} compact the patient's name or ID had no room
 */

/**
 * The lines of ``band`` (corners sharing ``room`` px of height) that fit a ``column`` px
 * wide: by priority, as many as there is height for.
 */
function fill(corners, band, room, column, lineHeight, frame) {
  const fits = (item) => {
    if (!(item.width > 0)) return false;
    if (item.whole) return item.width + frame.slack <= column;
    return NEVER_DROPPED_FOR_WIDTH.includes(item.name) ? column > 0 : column >= Math.min(item.width, frame.minText);
  };
  // Stable: equal priorities keep their order.
  const candidates = band.flatMap((corner) => corners[corner] || []).filter(fits)
    .sort((a, b) => b.priority - a.priority);
  // No line stays while one above it in priority goes for want of height.
  const kept = new Set();
  let left = room + 1e-6;
  for (const item of candidates) {
    const height = item.height || lineHeight;
    if (height > left) break;
    kept.add(item);
    left -= height;
  }
  const shown = Object.fromEntries(band.map((corner) => [corner, (corners[corner] || []).filter((item) => kept.has(item))]));
  // Among layouts showing the same, one that shows the patient uncut wins.
  const score = [...kept].reduce((sum, item) => sum + item.priority
    + (IDENTITY.includes(item.name) && item.width + frame.slack <= column ? 0.5 : 0), 0);
  return { shown, score };
}

/**
 * Which lines each corner shows in a viewport of ``size``.
 *
 * Corners stand in their corners, each at most half the width less the room of the top
 * and bottom markers, and each at most half the height less the middle band (the side
 * markers, or the message when it is taller). For each edge, when stacking its two
 * corners across the width under (over) the edge's marker shows more, they stack. Then
 * each corner (or stacked edge) keeps the lines its height holds, in priority order. A
 * line without text takes no room; a ``whole`` line too wide for its column is dropped
 * rather than cut.
 * @param {Object<string, CornerLine[]>} corners lines per corner, top to bottom
 * @param {{width: number, height: number}} size the viewport, CSS px
 * @param {number} lineHeight a line without a height of its own, CSS px
 * @param {Partial<typeof FRAME>} [frame] measures other than the defaults
 * @returns {CornerPlan}
 */
export function cornerLines(corners, size, lineHeight, frame = {}) {
  const f = { ...FRAME, ...frame };
  const middle = Math.max(f.marker, f.message);
  const half = size.height / 2 - middle / 2 - f.gap - f.padY;
  const split = { room: half, column: size.width / 2 - f.padX - f.markerHalf };
  const across = { room: half - f.marker - f.gap, column: size.width - 2 * f.padX };
  const plan = { shown: {}, stacked: {}, skip: {}, compact: false };
  for (const edge of ['top', 'bottom']) {
    const [left, right] = [`${edge}-left`, `${edge}-right`];
    const apart = [left, right].map((corner) => fill(corners, [corner], split.room, split.column, lineHeight, f));
    const together = fill(corners, [left, right], across.room, across.column, lineHeight, f);
    const stacked = together.score > apart[0].score + apart[1].score;
    plan.stacked[edge] = stacked;
    Object.assign(plan.shown, stacked ? together.shown : { ...apart[0].shown, ...apart[1].shown });
    // Stacked, the left corner's lines read first: the right corner's go under them at
    // the top; at the bottom the left corner's go over the right's.
    const nearer = edge === 'top' ? left : right;
    const farther = edge === 'top' ? right : left;
    plan.skip[nearer] = 0;
    plan.skip[farther] = stacked ? plan.shown[nearer].reduce((sum, item) => sum + (item.height || lineHeight), 0) : 0;
  }
  for (const corner of CORNERS) plan.shown[corner] = plan.shown[corner].map((item) => item.name);
  plan.compact = CORNERS.some((corner) => (corners[corner] || []).some((item) => IDENTITY.includes(item.name)
    && item.width > 0 && !plan.shown[corner].includes(item.name)));
  return plan;
}
