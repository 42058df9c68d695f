/**
 * What MPR writes over each pane: its plane, slab, position and window, orientation
 * markers from the plane's own axes, the other panes' crosshair lines, and the lengths
 * drawn on MPR that lie in its plane.
 * @module mpr/overlay
 */
import { crosshairLine, planeNormal, segmentOnPane, stepAlong } from '../math/mpr.js';
import { MPR_CORNERS } from '../math/corners.js';
import { edgeLabels } from '../math/orientation.js';
import { fixed } from '../math/readable.js';
import { norm, sub } from '../math/vec3.js';
import { fitCorners } from '../render/overlay-corners.js';

const SVG = 'http://www.w3.org/2000/svg';
export const PANES = ['axial', 'coronal', 'sagittal', 'oblique'];

function svg(name, attributes) {
  const element = document.createElementNS(SVG, name);
  Object.entries(attributes).forEach(([key, value]) => element.setAttribute(key, String(value)));
  return element;
}

/** Write pane ``name``'s texts and lines for the mappings of every pane shown. */
export function drawPaneOverlay(mpr, name, mappings) {
  const pane = mpr.panes.get(name);
  const mapping = mappings[name];
  const ratio = mpr.canvas.width / Math.max(mpr.canvas.getBoundingClientRect().width, 1);
  const { crosshair, slab, view, angle, tilt } = mpr.state;
  const text = (key, value) => { pane.querySelector(`[data-o="${key}"]`).textContent = value; };
  text('plane', name === 'oblique' ? `${mpr.t.oblique} ${angle}° / ${tilt}°` : mpr.t[name]);
  text('slab', slab.mode !== 'none' ? `${mpr.t.slabModes[slab.mode]} ${slab.thickness} mm` : '');
  const position = crosshair.map((v) => fixed(v, 1));
  text('position', position.length === 3 && position.every(Boolean) ? `${position.join(', ')} mm` : '');
  text('window', `W ${Math.round(view.width)} L ${Math.round(view.center)}`);
  // The pane's axes are patient directions, so the markers are certain.
  const labels = edgeLabels([...mapping.u, ...mapping.v], [1, 0, 0, 1, 0, 0]);
  for (const edge of ['left', 'right', 'top', 'bottom']) text(edge, labels ? labels[edge] : '');
  fitCorners(pane, MPR_CORNERS, null, { width: mapping.width / ratio, height: mapping.height / ratio });
  const lines = [];
  for (const other of PANES) {
    if (other === name) continue;
    const otherNormal = mappings[other]?.normal || planeNormal(mpr.plane(other));
    const segment = crosshairLine(mapping, otherNormal, crosshair);
    if (!segment) continue;
    const [[x1, y1], [x2, y2]] = segment.map(([x, y]) => [x / ratio, y / ratio]);
    lines.push(svg('line', { x1, y1, x2, y2, class: `cross ${other}` }));
  }
  const marks = lengthsOn(mpr, name, mapping).flatMap(({ ends, text: label, selected }) => {
    const [[x1, y1], [x2, y2]] = ends.map(([x, y]) => [x / ratio, y / ratio]);
    const words = svg('text', { x: x2 + 6, y: y2 - 6, class: 'label' });
    words.textContent = label;
    return [svg('line', { x1, y1, x2, y2, class: selected ? 'measurement selected' : 'measurement' }), words];
  });
  pane.querySelector('svg').replaceChildren(...lines, ...marks);
  pane.dataset.lines = String(lines.length);
  pane.dataset.measurements = String(marks.length / 2);
}

/**
 * Lengths drawn on MPR in this series that lie in pane ``name``'s plane (within half
 * a voxel, or half the slab), with the draft being drawn: ends in canvas pixels.
 */
export function lengthsOn(mpr, name, mapping) {
  const uid = mpr.options.series.series_uid;
  const slab = mpr.state.slab.mode !== 'none' ? mpr.state.slab.thickness / 2 : 0;
  const tolerance = Math.max(stepAlong(mpr.geometry, mapping.normal) / 2, slab);
  const saved = (mpr.options.measurements?.() || [])
    .filter((m) => m.space === 'patient' && m.series_uid === uid && m.kind === 'length');
  const drawn = mpr.draft ? [...saved, { points: mpr.draft.points, label: '' }] : saved;
  return drawn.flatMap((m) => {
    const ends = segmentOnPane(mapping, m.points, tolerance);
    if (!ends) return [];
    const mm = norm(sub(m.points[1], m.points[0]));
    const selected = m.id !== undefined && m.id === mpr.options.selected?.();
    return [{ ends, selected, text: [m.label, `${mm.toFixed(1)} mm`].filter(Boolean).join(' ') }];
  });
}
