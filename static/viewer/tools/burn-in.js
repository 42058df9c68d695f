/**
 * Where the texts burnt into an exported image go, so that none is drawn over another:
 * as on screen when they fit, else stacked in their corners, smaller; when even that
 * fails, the patient's name and ID and the least needed texts move into a band above
 * the image. Nothing is left out. Pure.
 * @module tools/burn-in
 */

/** Texts moved off the image first when they cannot all fit on it; markers never are. */
export const DROP_ORDER = Object.freeze(['zoom', 'position', 'thickness', 'study', 'series', 'image', 'slab', 'plane', 'window', 'calibration']);

/** Texts that name the patient: on a crowded image they lead the band. */
export const IDENTITY = Object.freeze(['patient-name', 'patient-id']);

const SCALES = [1, 0.85, 0.7];
const MARKERS = ['left', 'right', 'top', 'bottom'];

/**
 * @typedef {{name: string, corner: string, width: number, height: number,
 *   rect?: {x: number, y: number, width: number, height: number}}} BurnInItem
 *   ``corner``: top-left, top-right, bottom-left, bottom-right, or a marker's edge;
 *   ``width``/``height`` at full size; ``rect`` where it stands on screen (output pixels).
 */

/** Whether two rectangles share any area. */
export function intersects(a, b) {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

/**
 * The pairs of names whose rectangles intersect, and those outside ``size``. Texts of
 * different corners must also keep ``gap`` apart, or they read as one line.
 */
export function collisions(rects, size, gap = 0) {
  const found = [];
  rects.forEach((a, i) => {
    if (a.x < 0 || a.y < 0 || a.x + a.width > size.width + 0.5 || a.y + a.height > size.height + 0.5) found.push([a.name]);
    for (const b of rects.slice(i + 1)) {
      const apart = a.corner && a.corner !== b.corner ? gap : 0;
      const grown = { x: a.x - apart, y: a.y - apart, width: a.width + 2 * apart, height: a.height + 2 * apart };
      if (intersects(grown, b)) found.push([a.name, b.name]);
    }
  });
  return found;
}

/** Corner stacks and edge markers at ``scale`` inside ``size``, ``pad`` from the edges. */
export function stack(items, size, scale, pad) {
  const rects = [];
  const heights = {};
  for (const item of items) {
    const width = item.width * scale;
    const height = item.height * scale;
    const [vertical, horizontal] = item.corner.split('-');
    let x; let y;
    if (MARKERS.includes(item.corner)) {
      x = item.corner === 'left' ? pad : item.corner === 'right' ? size.width - pad - width : (size.width - width) / 2;
      y = item.corner === 'top' ? pad : item.corner === 'bottom' ? size.height - pad - height : (size.height - height) / 2;
    } else {
      const used = heights[item.corner] || 0;
      heights[item.corner] = used + height;
      x = horizontal === 'left' ? pad : size.width - pad - width;
      y = vertical === 'top' ? pad + used : size.height - pad - used - height;
    }
    rects.push({ name: item.name, corner: item.corner, x, y, width, height, scale });
  }
  return rects;
}

/** The first scale at which ``items`` stack without collisions, with their rectangles. */
function fitting(items, size, pad) {
  for (const scale of SCALES) {
    const rects = stack(items, size, scale, pad);
    if (!collisions(rects, size, pad / 2).length) return rects;
  }
  return null;
}

/** ``items`` fitted in ``size``, leaving out texts in DROP_ORDER until they fit. */
function fittedDropping(items, size, pad) {
  let kept = items;
  for (const name of [null, ...DROP_ORDER]) {
    if (name) kept = kept.filter((item) => item.name !== name);
    const rects = fitting(kept, size, pad);
    if (rects) return rects;
  }
  return null;
}

/**
 * Where each text goes on an image of ``size``: {band, rects}. ``band`` is the height
 * of a band added above the image (0 when none) for the patient's name and ID and for
 * the texts that do not fit on the image; rects in the band have ``band: true`` and y
 * from the band's top, the others y from the image's top.
 * @param {{width: number, height: number}} size output pixels
 * @param {BurnInItem[]} items
 * @param {number} pad distance from the edges, output pixels
 * @param {string[]} [keep] the texts an export without patient data carries: when the
 *   patient goes into a band and these meet nothing where they stand on screen, they
 *   stay there and every other text goes into the band, so the image is the one
 *   exported without patient data
 * @returns {{band: number, rects: Array<{name: string, x: number, y: number,
 *   width: number, height: number, scale: number, band?: boolean}>}}
 */
export function burnInLayout(size, items, pad = 6, keep = []) {
  const onScreen = items.filter((item) => item.rect)
    .map((item) => ({ name: item.name, corner: item.corner, ...item.rect, scale: 1 }));
  if (onScreen.length === items.length && !collisions(onScreen, size).length) return { band: 0, rects: onScreen };
  const whole = fitting(items, size, pad);
  if (whole) return { band: 0, rects: whole };
  // The patient, then whatever the image cannot hold, go into a band of one line each.
  const rest = items.filter((item) => !IDENTITY.includes(item.name));
  const markers = rest.filter((item) => MARKERS.includes(item.corner));
  const kept = onScreen.filter((rect) => keep.includes(rect.name));
  const keepsPlace = keep.length && kept.length === items.filter((item) => keep.includes(item.name)).length
    && !collisions(kept, size).length;
  const inImage = keepsPlace ? kept
    : fittedDropping(rest, size, pad) || stack(markers, size, SCALES[SCALES.length - 1], pad);
  const lines = items.filter((item) => !inImage.some((rect) => rect.name === item.name));
  const band = [];
  let y = pad;
  const fit = (item) => Math.min(1, (size.width - 2 * pad) / Math.max(item.width, 1));
  // One size for the lines (that of the patient's longer line), smaller only where a
  // line needs it.
  const common = Math.min(1, ...lines.filter((item) => IDENTITY.includes(item.name)).map(fit));
  for (const item of lines) {
    const scale = Math.min(common, fit(item));
    band.push({ name: item.name, x: pad, y, width: item.width * scale, height: item.height * scale, scale, band: true });
    y += item.height * scale;
  }
  return { band: Math.ceil(y + pad), rects: [...band, ...inImage] };
}
