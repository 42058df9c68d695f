/**
 * Fetching series metadata and raw frames from our server.
 * @module io/api
 */

const TYPED = {
  uint8: Uint8Array, int8: Int8Array, uint16: Uint16Array, int16: Int16Array,
  uint32: Uint32Array, int32: Int32Array, float32: Float32Array,
};

/**
 * @param {string} studyUid
 * @param {string} seriesUid
 * @returns {Promise<object>} the series with its instances in slice order
 */
export async function fetchSeriesMetadata(studyUid, seriesUid) {
  const response = await fetch(`/api/studies/${studyUid}/series/${seriesUid}/metadata/`, {
    credentials: 'same-origin',
  });
  if (!response.ok) throw new Error(`series metadata: HTTP ${response.status}`);
  return response.json();
}

/**
 * A decoded frame: stored values and the facts to display them.
 * @typedef {{values: ArrayLike<number>, rows: number, columns: number, samples: number,
 *   dataType: string, photometric: string, slope: number, intercept: number,
 *   windows: Array<{center: number, width: number}>, voiFunction: string,
 *   min: number, max: number}} Frame
 */

/**
 * @param {string} studyUid
 * @param {string} sopUid
 * @param {number} frameNumber 1-based
 * @returns {Promise<Frame>}
 */
export async function fetchFrame(studyUid, sopUid, frameNumber = 1) {
  const url = `/api/studies/${studyUid}/instances/${sopUid}/frames/${frameNumber}/raw`;
  const response = await fetch(url, { credentials: 'same-origin' });
  if (!response.ok) {
    let detail = `HTTP ${response.status}`;
    try { detail = (await response.json()).detail || detail; } catch { /* not JSON */ }
    throw new Error(detail);
  }
  const header = (name) => response.headers.get(name) || '';
  const dataType = header('X-Data-Type');
  const buffer = await response.arrayBuffer();
  const values = new TYPED[dataType](buffer);
  const centers = header('X-Window-Center').split('\\').filter(Boolean).map(Number);
  const widths = header('X-Window-Width').split('\\').filter(Boolean).map(Number);
  const slope = Number(header('X-Rescale-Slope') || 1);
  const intercept = Number(header('X-Rescale-Intercept') || 0);
  let min = Infinity; let max = -Infinity;
  for (let i = 0; i < values.length; i += 1) {
    const v = values[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const [lo, hi] = [min * slope + intercept, max * slope + intercept].sort((a, b) => a - b);
  return {
    values,
    rows: Number(header('X-Rows')),
    columns: Number(header('X-Columns')),
    samples: Number(header('X-Samples-Per-Pixel') || 1),
    dataType,
    photometric: header('X-Photometric-Interpretation'),
    slope,
    intercept,
    windows: centers.map((center, i) => ({ center, width: widths[i] })).filter((w) => w.width > 0),
    voiFunction: header('X-VOI-LUT-Function') || 'LINEAR',
    min: lo,
    max: hi,
  };
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|; )csrftoken=([^;]*)/);
  return match ? decodeURIComponent(match[1]) : '';
}

async function sendJson(url, method, body) {
  const response = await fetch(url, {
    method,
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrfToken() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    let detail = `HTTP ${response.status}`;
    try { detail = (await response.json()).detail || detail; } catch { /* not JSON */ }
    throw new Error(detail);
  }
  return response.status === 204 ? null : response.json();
}

/** The study's measurements this person may see (their own and shared ones). */
export async function fetchMeasurements(studyUid) {
  return (await sendJson(`/api/studies/${studyUid}/measurements/`, 'GET')).measurements;
}

/** Save a new measurement; returns it with its id. */
export function saveMeasurement(studyUid, measurement) {
  return sendJson(`/api/studies/${studyUid}/measurements/`, 'POST', measurement);
}

/** Delete one of one's own measurements. */
export function deleteMeasurement(id) {
  return sendJson(`/api/measurements/${id}/`, 'DELETE');
}

/** Change one of one's own measurements (``points``, ``label`` or ``shared``); returns it. */
export function updateMeasurement(id, change) {
  return sendJson(`/api/measurements/${id}/`, 'PATCH', change);
}
