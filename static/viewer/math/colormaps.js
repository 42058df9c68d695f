/**
 * Pseudo-colour maps as 256-entry RGB lookup tables (grey level in, colour out). Pure.
 * @module math/colormaps
 */

/** Colour map names, in menu order; "grey" is the identity. */
export const COLORMAPS = Object.freeze(['grey', 'hot-iron', 'rainbow', 'cool', 'bone']);

const clamp = (v) => Math.min(255, Math.max(0, Math.round(v)));

const makers = {
  grey: (i) => [i, i, i],
  // Hot iron: black through red and yellow to white, as PET and thermal displays use.
  'hot-iron': (i) => [clamp(i * 3), clamp(i * 3 - 255), clamp(i * 3 - 510)],
  // Rainbow: blue, cyan, green, yellow, red along the hue circle.
  rainbow: (i) => {
    const h = (1 - i / 255) * 240;
    const x = 1 - Math.abs(((h / 60) % 2) - 1);
    const [r, g, b] = h < 60 ? [1, x, 0] : h < 120 ? [x, 1, 0] : h < 180 ? [0, 1, x]
      : h < 240 ? [0, x, 1] : [0, 0, 1];
    return [clamp(r * 255), clamp(g * 255), clamp(b * 255)];
  },
  cool: (i) => [i, 255 - i, 255],
  bone: (i) => [clamp(i * 0.875 + (i > 191 ? (i - 191) * 1.5 : 0)),
    clamp(i * 0.875 + (i > 95 && i <= 191 ? (i - 95) * 0.4 : i > 191 ? 38 : 0)),
    clamp(i * 0.875 + (i <= 95 ? i * 0.33 : 32))],
};

/**
 * The lookup table of a colour map: 256 x [r, g, b, 255] as a flat Uint8Array.
 * @param {string} name one of COLORMAPS (unknown names give grey)
 * @returns {Uint8Array}
 */
export function colormapTable(name) {
  const make = makers[name] || makers.grey;
  const table = new Uint8Array(256 * 4);
  for (let i = 0; i < 256; i += 1) {
    const [r, g, b] = make(i);
    table.set([r, g, b, 255], i * 4);
  }
  return table;
}
