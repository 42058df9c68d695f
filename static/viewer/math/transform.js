/**
 * Where an image lies on the canvas: fit, zoom, pan, rotation in quarter turns and
 * flips, as one affine matrix. Pure: no DOM, no GL.
 * @module math/transform
 */

/**
 * @typedef {{zoom: number, panX: number, panY: number, rotation: number,
 *   flipH: boolean, flipV: boolean, oneToOne: boolean}} Placement
 * rotation in degrees clockwise (0, 90, 180, 270); zoom 1 fits the viewport.
 */

/** @returns {Placement} */
export function defaultPlacement() {
  return { zoom: 1, panX: 0, panY: 0, rotation: 0, flipH: false, flipV: false, oneToOne: false };
}

/**
 * The matrix [a, b, c, d, e, f] taking image pixel coordinates (u right, v down, in
 * pixels from the top-left corner) to canvas pixels: x = a*u + c*v + e, y = b*u + d*v + f.
 * @param {{columns: number, rows: number, spacing?: number[]}} image spacing is
 *   [row spacing, column spacing] in mm; unknown spacing counts as square pixels.
 * @param {{width: number, height: number}} canvas
 * @param {Placement} placement
 * @returns {number[]}
 */
export function imageToCanvas(image, canvas, placement) {
  const [rowSpacing, colSpacing] = image.spacing || [1, 1];
  const quarter = (((placement.rotation / 90) % 4) + 4) % 4;
  const turned = quarter % 2 === 1;
  const widthMm = image.columns * colSpacing;
  const heightMm = image.rows * rowSpacing;
  const shownWidth = turned ? heightMm : widthMm;
  const shownHeight = turned ? widthMm : heightMm;
  const fit = Math.min(canvas.width / shownWidth, canvas.height / shownHeight);
  const scale = placement.oneToOne ? 1 / colSpacing : fit * placement.zoom;
  // Image pixels to millimetres centred on the image, turned, then flipped on the
  // screen: "flip vertical" mirrors what the person sees, whatever the rotation.
  let a = colSpacing;
  let d = rowSpacing;
  let b = 0;
  let c = 0;
  let e = -a * (image.columns / 2);
  let f = -d * (image.rows / 2);
  for (let i = 0; i < quarter; i += 1) {
    // A quarter turn clockwise on a y-down screen: (x, y) -> (-y, x).
    [a, b, c, d, e, f] = [-b, a, -d, c, -f, e];
  }
  if (placement.flipH) [a, c, e] = [-a, -c, -e];
  if (placement.flipV) [b, d, f] = [-b, -d, -f];
  const centreX = canvas.width / 2 + placement.panX;
  const centreY = canvas.height / 2 + placement.panY;
  const m = [a * scale, b * scale, c * scale, d * scale, e * scale + centreX, f * scale + centreY];
  // At 1:1 each image pixel must land on one canvas pixel: an odd canvas width (or an
  // odd image) would otherwise put it across two, and the screen would show neither.
  if (placement.oneToOne) [m[4], m[5]] = [Math.round(m[4]), Math.round(m[5])];
  return m;
}

/**
 * Canvas pixel back to image pixel coordinates (for tools that point at the image).
 * @param {number[]} m from imageToCanvas
 * @param {number} x
 * @param {number} y
 * @returns {{u: number, v: number}}
 */
export function canvasToImage(m, x, y) {
  const [a, b, c, d, e, f] = m;
  const det = a * d - b * c;
  const dx = x - e;
  const dy = y - f;
  return { u: (d * dx - c * dy) / det, v: (a * dy - b * dx) / det };
}

/**
 * Zoom about a canvas point, keeping the image point under it in place.
 * @param {Placement} placement
 * @param {number} factor >1 enlarges
 * @param {{width: number, height: number}} canvas
 * @param {number} x canvas pixel
 * @param {number} y canvas pixel
 * @returns {Placement}
 */
export function zoomAt(placement, factor, canvas, x, y) {
  const zoom = Math.min(Math.max(placement.zoom * factor, 0.1), 40);
  const applied = zoom / placement.zoom;
  const cx = canvas.width / 2 + placement.panX;
  const cy = canvas.height / 2 + placement.panY;
  return {
    ...placement,
    oneToOne: false,
    zoom,
    panX: placement.panX + (x - cx) * (1 - applied),
    panY: placement.panY + (y - cy) * (1 - applied),
  };
}

/**
 * Turn a quarter clockwise (or back with ``-90``).
 * @param {Placement} placement
 * @param {number} degrees
 * @returns {Placement}
 */
export function rotate(placement, degrees) {
  return { ...placement, rotation: (((placement.rotation + degrees) % 360) + 360) % 360 };
}

/**
 * The size of the image a frame shows, in its own pixels: a reduced rendition's full
 * image (io/api.js Frame ``fullColumns``, ``fullRows``), else the frame's.
 * @param {{columns: number, rows: number, fullColumns?: number, fullRows?: number}} frame
 * @returns {{columns: number, rows: number}}
 */
export function imageExtent(frame) {
  return { columns: frame.fullColumns || frame.columns, rows: frame.fullRows || frame.rows };
}

/**
 * The matrix that draws a reduced rendition over its full image: rendition pixel
 * (u, v) covers the full image's pixels from (u * factor, v * factor), so it lies
 * where they do, at the same zoom and pan (a partial block at an edge overhangs the
 * image by less than ``factor`` pixels).
 * @param {number[]} m the full image's matrix, from imageToCanvas
 * @param {number} factor the rendition's ``reducedBy``; 1 gives ``m``
 * @returns {number[]}
 */
export function reducedMatrix(m, factor) {
  if (!(factor > 1)) return m;
  return [m[0] * factor, m[1] * factor, m[2] * factor, m[3] * factor, m[4], m[5]];
}
