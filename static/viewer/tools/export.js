/**
 * Exporting what the viewer shows, as pure decisions: which overlay texts go onto a
 * PNG, its file name, and the images a film print asks the server for. No DOM.
 * @module tools/export
 */

/** Film layouts offered, rows x columns; the server accepts up to 6 x 6. */
export const FILM_LAYOUTS = Object.freeze([
  '1x1', '1x2', '2x1', '2x2', '2x3', '3x2', '3x3', '3x4', '4x3', '4x4', '4x5', '5x5', '5x6', '6x6',
]);

/** The most images one print may hold (the server refuses more). */
export const MAX_FILM_IMAGES = 64;

/** The longest caption, in characters, the server prints under an image. */
export const MAX_FILM_CAPTION = 120;

/** The largest side, in pixels, of an image the viewer renders for film (the server's limit). */
export const MAX_FILM_PNG_SIDE = 4096;

/**
 * Overlays written onto an MPR pane printed on film: its orientation markers. The
 * plane, slab and window go into the caption under it, the patient into the header.
 */
export const FILM_PANE_OVERLAYS = Object.freeze(['left', 'right', 'top', 'bottom']);

// Overlays that say nothing about the patient: orientation, windowing, the MPR plane
// and slab an image was made with, and the calibration its measurements use.
const ALWAYS = Object.freeze(['window', 'zoom', 'plane', 'slab', 'calibration', 'left', 'right', 'top', 'bottom']);
// Overlays that identify the patient, the study or the image: only when asked for.
const BURN_IN = Object.freeze(['patient-name', 'patient-id', 'study', 'series', 'image', 'position', 'thickness']);

/**
 * Which of the viewport's overlays an exported PNG carries. Their text is copied from
 * the screen, never worked out again, so the file shows nothing the viewer does not.
 * @param {boolean} burnIn the person asked for patient data on the image
 * @returns {string[]} overlay names (the viewport's data-o names and classes)
 */
export function exportedOverlays(burnIn) {
  return burnIn ? [...BURN_IN, ...ALWAYS] : [...ALWAYS];
}

/**
 * A PNG's file name, without patient data: pacsweb-CT-3-12.png.
 * @param {{modality?: string, seriesNumber?: number|string|null, imageNumber: number}} image
 * @returns {string}
 */
export function pngFileName({ modality, seriesNumber, imageNumber }) {
  const safe = (value, fallback) => String(value ?? '').replace(/[^A-Za-z0-9]+/g, '') || fallback;
  return `pacsweb-${safe(modality, 'image')}-${safe(seriesNumber, 'x')}-${safe(imageNumber, '1')}.png`;
}

/**
 * The film's request for one image as it is shown: its window, whether the person
 * inverted it, how it is turned and mirrored, and the measurements drawn on it.
 * ``invert`` is relative to the photometric interpretation, because the server already
 * prints MONOCHROME1 white-is-low (and the viewer starts it inverted).
 * @param {{sop_instance_uid: string, frame: number}} entry the stack entry
 * @param {{center: number, width: number, invert: boolean}} view the viewport's window
 * @param {{samples: number, photometric: string}} frame the decoded frame shown
 * @param {{rotation?: number, flipH?: boolean, flipV?: boolean,
 *   marks?: Array<{kind: string, points: number[][], text: string}>}} [shown]
 *   from Viewport.printed
 * @returns {object}
 */
export function filmItem(entry, view, frame, shown = {}) {
  const item = {
    sop_instance_uid: entry.sop_instance_uid,
    frame: entry.frame || 1,
    invert: Boolean(view.invert) !== (frame.photometric === 'MONOCHROME1'),
  };
  // Colour images have no window: they print as stored.
  if (frame.samples === 1) Object.assign(item, { window_center: view.center, window_width: view.width });
  if (shown.rotation) item.rotation = shown.rotation;
  if (shown.flipH) item.flip_h = true;
  if (shown.flipV) item.flip_v = true;
  if (shown.marks?.length) item.marks = shown.marks;
  return item;
}

/**
 * The caption under an MPR pane on film: its overlay texts (plane, slab, window)
 * that say something, as "Coronal · MIP 10 mm · W 400 L 40".
 * @param {string[]} texts
 * @returns {string}
 */
export function mprFilmCaption(texts) {
  const caption = texts.map((text) => String(text ?? '').replace(/\s+/g, ' ').trim()).filter(Boolean).join(' · ');
  return caption.slice(0, MAX_FILM_CAPTION);
}

/**
 * The film layout that matches MPR on screen: its four panes two by two, or one.
 * @param {number} panes panes on screen
 * @returns {string}
 */
export function mprFilmLayout(panes) {
  return panes > 1 ? '2x2' : '1x1';
}

/**
 * Every n-th image of a stack that is here, first one first.
 * @param {Array<{missing?: boolean}>} entries the stack, one entry a frame
 * @param {number} step n
 * @returns {Array<object>} the chosen entries
 */
export function everyNth(entries, step) {
  const n = Math.max(1, Math.floor(step) || 1);
  return entries.filter((entry, index) => index % n === 0 && !entry.missing);
}

/**
 * The step that puts a whole stack on one page of ``tiles`` images.
 * @param {number} count images in the stack
 * @param {number} tiles images a page holds
 * @returns {number}
 */
export function stepForOnePage(count, tiles) {
  return Math.max(1, Math.ceil(count / Math.max(tiles, 1)));
}

/**
 * "RxC" as rows and columns for film (each 1 to 6), or null.
 * @param {string} text
 * @returns {{rows: number, columns: number} | null}
 */
export function parseFilmLayout(text) {
  const match = /^\s*([1-6])\s*[x×*]\s*([1-6])\s*$/i.exec(text || '');
  return match ? { rows: Number(match[1]), columns: Number(match[2]) } : null;
}

/**
 * Pages a print of ``count`` images takes at a layout.
 * @param {number} count
 * @param {{rows: number, columns: number}} layout
 * @returns {number}
 */
export function pageCount(count, layout) {
  return Math.ceil(count / (layout.rows * layout.columns));
}

/**
 * The file name a server's Content-Disposition gives, or ``fallback``.
 * @param {string | null} header
 * @param {string} fallback
 * @returns {string}
 */
export function fileNameFromDisposition(header, fallback) {
  const match = /filename="?([^";]+)"?/i.exec(header || '');
  return match ? match[1].replace(/[/\\]/g, '') : fallback;
}

/**
 * What the server is told when a person saves a PNG, for the audit trail
 * (POST /api/studies/<uid>/exports/): the image it shows (or, for an MPR pane, the
 * series it was reformatted from), whether the annotation layer is on it and whether
 * patient data is burnt in.
 * @param {{sopInstanceUid?: string|null, seriesUid?: string|null, annotated: boolean,
 *   burnIn: boolean}} saved
 * @returns {{format: string, annotated: boolean, patient_data_burnt_in: boolean,
 *   sop_instance_uid: string|null, series_uid: string|null}}
 */
export function exportReport({ sopInstanceUid, seriesUid, annotated, burnIn }) {
  return {
    format: 'png',
    annotated: Boolean(annotated),
    patient_data_burnt_in: Boolean(burnIn),
    sop_instance_uid: sopInstanceUid || null,
    series_uid: sopInstanceUid ? null : seriesUid || null,
  };
}
