/**
 * Orientation markers: which patient direction lies at each screen edge, from
 * ImageOrientationPatient and the current image-to-screen matrix. Pure.
 * @module math/orientation
 */

const LETTERS = [['R', 'L'], ['A', 'P'], ['F', 'H']]; // LPS: -x, +x; -y, +y; -z, +z

/**
 * Letters for a patient-space direction, strongest axis first (e.g. "LA", "H").
 * Axes weaker than a quarter of the strongest are left out so oblique planes read
 * sensibly.
 * @param {number[]} vector [x, y, z] in the patient coordinate system
 * @returns {string}
 */
export function directionLetters(vector) {
  const strongest = Math.max(...vector.map(Math.abs));
  if (!(strongest > 0)) return '';
  return vector
    .map((value, axis) => ({ value, axis }))
    .filter(({ value }) => Math.abs(value) >= strongest * 0.25)
    .sort((p, q) => Math.abs(q.value) - Math.abs(p.value))
    .map(({ value, axis }) => LETTERS[axis][value > 0 ? 1 : 0])
    .join('');
}

/**
 * The patient direction at each screen edge, or null when the orientation is unknown
 * (then nothing may be shown).
 * @param {number[] | null} iop ImageOrientationPatient (row then column direction cosines)
 * @param {number[]} m image-to-canvas matrix [a, b, c, d, e, f]
 * @returns {{left: string, right: string, top: string, bottom: string} | null}
 */
export function edgeLabels(iop, m) {
  if (!iop || iop.length !== 6 || iop.some((v) => !Number.isFinite(v))) return null;
  const [a, b, c, d] = m;
  const det = a * d - b * c;
  if (det === 0) return null;
  // Screen direction (sx, sy) back to image steps (du, dv), then to the patient.
  const toPatient = (sx, sy) => {
    const du = (d * sx - c * sy) / det;
    const dv = (a * sy - b * sx) / det;
    return [0, 1, 2].map((i) => du * iop[i] + dv * iop[i + 3]);
  };
  return {
    right: directionLetters(toPatient(1, 0)),
    left: directionLetters(toPatient(-1, 0)),
    bottom: directionLetters(toPatient(0, 1)),
    top: directionLetters(toPatient(0, -1)),
  };
}

const OPPOSITE = { A: 'P', P: 'A', R: 'L', L: 'R', H: 'F', F: 'H' };

/**
 * The patient direction at each screen edge of a projection image (a mammogram, a
 * radiograph: no ImageOrientationPatient) from its PatientOrientation, or null when it
 * does not say (then nothing may be shown). Follows flips and quarter turns.
 * @param {string[] | null} patientOrientation [row direction, column direction], e.g. ["P", "FL"]
 * @param {number[]} m image-to-canvas matrix [a, b, c, d, e, f]
 * @returns {{left: string, right: string, top: string, bottom: string} | null}
 */
export function projectionLabels(patientOrientation, m) {
  const valid = (text) => typeof text === 'string' && /^[APRLHF]+$/.test(text);
  if (!Array.isArray(patientOrientation) || patientOrientation.length !== 2
    || !patientOrientation.every(valid)) return null;
  const [row, column] = patientOrientation;
  const [a, b, c, d] = m;
  const det = a * d - b * c;
  if (det === 0) return null;
  const opposite = (text) => [...text].map((letter) => OPPOSITE[letter]).join('');
  // Screen direction back to image steps; the image axis it mostly runs along names it.
  const toward = (sx, sy) => {
    const du = (d * sx - c * sy) / det;
    const dv = (a * sy - b * sx) / det;
    if (Math.abs(du) === Math.abs(dv)) return '';
    if (Math.abs(du) > Math.abs(dv)) return du > 0 ? row : opposite(row);
    return dv > 0 ? column : opposite(column);
  };
  return { right: toward(1, 0), left: toward(-1, 0), bottom: toward(0, 1), top: toward(0, -1) };
}
