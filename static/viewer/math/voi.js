/**
 * The DICOM grayscale pipeline as pure functions: modality LUT (rescale) and the VOI
 * window of PS3.3 C.11.2.1.2 (LINEAR, LINEAR_EXACT, SIGMOID). No DOM, no GL.
 * @module math/voi
 */

/** VOI LUT functions by the code the shader uses. */
export const VOI_FUNCTIONS = Object.freeze({ LINEAR: 0, LINEAR_EXACT: 1, SIGMOID: 2 });

/**
 * Window presets for CT, in Hounsfield units.
 * @type {ReadonlyArray<{name: string, center: number, width: number}>}
 */
export const CT_PRESETS = Object.freeze([
  { name: 'Brain', center: 40, width: 80 },
  { name: 'Subdural', center: 75, width: 215 },
  { name: 'Stroke', center: 40, width: 40 },
  { name: 'Lung', center: -600, width: 1500 },
  { name: 'Mediastinum', center: 50, width: 350 },
  { name: 'Abdomen', center: 40, width: 400 },
  { name: 'Liver', center: 60, width: 150 },
  { name: 'Bone', center: 480, width: 2500 },
]);

/**
 * Modality LUT: stored value to modality value (HU for CT).
 * @param {number} stored
 * @param {number} slope
 * @param {number} intercept
 * @returns {number}
 */
export function modalityValue(stored, slope, intercept) {
  return stored * slope + intercept;
}

/**
 * The VOI output for one modality value, as a fraction 0..1 of the display range.
 * @param {number} x modality value
 * @param {number} center window center
 * @param {number} width window width
 * @param {number} fn one of VOI_FUNCTIONS
 * @returns {number}
 */
export function voiFraction(x, center, width, fn = VOI_FUNCTIONS.LINEAR) {
  if (fn === VOI_FUNCTIONS.SIGMOID) {
    return 1 / (1 + Math.exp((-4 * (x - center)) / width));
  }
  if (fn === VOI_FUNCTIONS.LINEAR_EXACT) {
    if (x <= center - width / 2) return 0;
    if (x > center + width / 2) return 1;
    return (x - center) / width + 0.5;
  }
  // LINEAR: width 1 is a threshold at the center.
  if (width <= 1) return x > center - 0.5 ? 1 : 0;
  if (x <= center - 0.5 - (width - 1) / 2) return 0;
  if (x > center - 0.5 + (width - 1) / 2) return 1;
  return (x - (center - 0.5)) / (width - 1) + 0.5;
}

/**
 * An 8-bit grey level for a stored value, through rescale, window and polarity.
 * @param {number} stored
 * @param {{slope: number, intercept: number, center: number, width: number,
 *          fn?: number, invert?: boolean}} p
 * @returns {number} 0..255
 */
export function greyLevel(stored, p) {
  let y = voiFraction(modalityValue(stored, p.slope, p.intercept), p.center, p.width, p.fn ?? 0);
  if (p.invert) y = 1 - y;
  return Math.round(y * 255);
}

/**
 * The window to open an image with: the file's first window, else its full range.
 * @param {{windows: Array<{center: number, width: number}>, min: number, max: number}} frame
 *   ``min``/``max`` are modality values.
 * @returns {{center: number, width: number}}
 */
export function initialWindow(frame) {
  if (frame.windows && frame.windows.length > 0) {
    return { center: frame.windows[0].center, width: frame.windows[0].width };
  }
  const width = Math.max(frame.max - frame.min, 1);
  return { center: frame.min + width / 2, width };
}

/**
 * Window after a drag: horizontal changes width, vertical changes center.
 * @param {{center: number, width: number}} start
 * @param {number} dx pixels moved right
 * @param {number} dy pixels moved down
 * @param {number} sensitivity modality units per pixel
 * @returns {{center: number, width: number}}
 */
export function dragWindow(start, dx, dy, sensitivity) {
  return {
    center: start.center + dy * sensitivity,
    width: Math.max(1, start.width + dx * sensitivity),
  };
}

/**
 * Parse the VOI LUT Function header value into a code.
 * @param {string} name
 * @returns {number}
 */
export function voiFunctionCode(name) {
  return VOI_FUNCTIONS[(name || 'LINEAR').toUpperCase()] ?? VOI_FUNCTIONS.LINEAR;
}
