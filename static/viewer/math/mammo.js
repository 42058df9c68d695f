/**
 * Mammograms hung as they are read: each breast's chest wall toward the middle of its
 * pair (the right breast on the left of the screen, chest wall at its viewport's right
 * edge; the left breast on the right, chest wall at the left edge), an image mirrored
 * only where its own PatientOrientation says its chest wall lies on the other side.
 * Never a guess: without an orientation (or a laterality) the image stays as stored and
 * says so. Pure: plain listing entries in, a decision out; no DOM.
 *
 * The decision is made here, in the viewer, and not in the server's hanging
 * (viewer/reading/hanging.py picks which image goes where): it depends on the image on
 * screen (one series may hold several views, and a person may drop another series into
 * the viewport), and the viewer already owns the placement the flip belongs to and the
 * orientation markers that must follow it.
 * @module math/mammo
 */

/**
 * Which edge of the stored image the chest wall lies at: the row direction
 * (PatientOrientation's first value) runs toward the nipple (A, anterior) or toward the
 * chest wall (P, posterior). Null when the header does not say.
 * @param {string[]|null|undefined} patientOrientation e.g. ["P", "L"]
 * @returns {'left'|'right'|null}
 */
export function chestWallEdge(patientOrientation) {
  const row = Array.isArray(patientOrientation) ? String(patientOrientation[0] || '').toUpperCase() : '';
  const anterior = row.includes('A');
  const posterior = row.includes('P');
  if (anterior === posterior) return null; // neither, or a contradiction
  return posterior ? 'right' : 'left';
}

/**
 * The screen edge a viewport wants the chest wall at: ``facing`` puts a right breast's
 * at the right edge and a left breast's at the left (the pair's chest walls meet in the
 * middle); ``left``/``right`` ask for that edge whatever the side. Null when unknown.
 * @param {string} chestWall the hanging's ``chest_wall``
 * @param {string} laterality R, L, B, U or ''
 * @returns {'left'|'right'|null}
 */
export function wantedEdge(chestWall, laterality) {
  if (chestWall === 'left' || chestWall === 'right') return chestWall;
  if (chestWall !== 'facing') return null;
  return { R: 'right', L: 'left' }[laterality] || null;
}

/**
 * Whether the stored image stands on its head: the column direction (PatientOrientation's
 * second value) runs toward the feet (F) in an upright oblique or lateral view and toward
 * the head (H) when the image is upside down. Null when the header does not say: a CC
 * view's columns run sideways (neither), and a contradiction says nothing either.
 * @param {string[]|null|undefined} patientOrientation e.g. ["A", "FR"]
 * @returns {boolean|null}
 */
export function upsideDown(patientOrientation) {
  const column = Array.isArray(patientOrientation) ? String(patientOrientation[1] || '').toUpperCase() : '';
  const head = column.includes('H');
  const feet = column.includes('F');
  if (head === feet) return null;
  return head;
}

/**
 * How to place one image of a hung mammogram. Four cases, from the chest wall's side
 * and whether the image stands on its head: as stored; chest wall on the wrong side
 * only: mirrored left-right; upside down with the chest wall on the wrong side: turned
 * 180 degrees (which moves the chest wall across too); upside down with the chest wall
 * already right: turned 180 degrees and mirrored back. A flip alone never turns an
 * upside-down image the right way up. ``rotation`` and ``flipH`` go into the viewer's
 * own placement (math/transform.js: the flip is on the screen, after the turn), so the
 * orientation markers follow.
 * @param {{patient_orientation?: string[]|null, laterality?: string, view?: string}} entry
 *   the image's listing entry (io/api series metadata)
 * @param {string} chestWall the hanging viewport's ``chest_wall``
 * @returns {{flipH: boolean, rotation: 0|180,
 *   state: 'mirrored'|'turned'|'turned-mirrored'|'as-stored'|'no-orientation'|'no-laterality',
 *   label: string}} ``label`` names side and view ("R CC"), '' when neither is known
 */
export function mammoPlacement(entry, chestWall) {
  const laterality = String(entry?.laterality || '').toUpperCase();
  const view = String(entry?.view || '').toUpperCase();
  const label = [laterality, view].filter(Boolean).join(' ');
  const asStored = (state) => ({ flipH: false, rotation: 0, state, label });
  const wanted = wantedEdge(chestWall, laterality);
  if (!wanted) return asStored('no-laterality');
  const edge = chestWallEdge(entry?.patient_orientation);
  if (!edge) return asStored('no-orientation');
  const wrongSide = edge !== wanted;
  if (!upsideDown(entry?.patient_orientation)) {
    return wrongSide ? { flipH: true, rotation: 0, state: 'mirrored', label } : asStored('as-stored');
  }
  return wrongSide
    ? { flipH: false, rotation: 180, state: 'turned', label }
    : { flipH: true, rotation: 180, state: 'turned-mirrored', label };
}

/**
 * The prior's image of each view hung now: for each ``{laterality, view}`` (the current
 * study's viewports in order), the first prior image of the same side and view, as a
 * hanging viewport entry ``{series_uid, sop_instance_uid, chest_wall}``; null where
 * the prior has none, or where the current study has no image there (a null slot: the
 * slot is kept, so every later view stays in its own place). An image is used once.
 * @param {Array<{laterality: string, view: string}|null>} wanted
 * @param {Array<{series_uid: string, instances: Array<{sop_instance_uid: string,
 *   laterality?: string, view?: string}>}>} listings the prior's series listings
 * @returns {Array<object|null>}
 */
export function priorViews(wanted, listings) {
  const used = new Set();
  return wanted.map((want) => {
    if (!want?.laterality || !want.view) return null;
    for (const listing of listings) {
      const found = (listing?.instances || []).find((entry) => !used.has(entry.sop_instance_uid)
        && entry.laterality === want.laterality && entry.view === want.view);
      if (found) {
        used.add(found.sop_instance_uid);
        return { series_uid: listing.series_uid, sop_instance_uid: found.sop_instance_uid, chest_wall: 'facing' };
      }
    }
    return null;
  });
}

/**
 * The grid of current beside prior: a 2x2 of views becomes a 2x4, the current pair
 * left and the prior's pair right in each row (R, L current; R, L prior). Every slot
 * keeps its place: a view missing from either study is an empty viewport
 * ``{series_uid: null, empty: true}`` (never filled with another series), so the views
 * after it stay in their breast's column, chest walls toward the middle. Where the
 * slot's view is known it names it, and whose it is not in: ``missing: {laterality,
 * view}``, ``of: 'current'|'prior'`` (the viewport says "R MLO — not in the prior").
 * @param {Array<object|null>} current the current study's viewport entries, by row (a
 *   null, or an entry without a series, where the study has no image for that view)
 * @param {Array<object|null>} prior the prior's entry for each (priorViews)
 * @param {Array<{laterality: string, view: string}|null>} [views] each slot's view
 * @returns {{layout: string, viewports: object[]}}
 */
export function besidePrior(current, prior, views = []) {
  const slot = (entry, index, of) => {
    if (entry?.series_uid) return entry;
    const { laterality, view } = views[index] || {};
    return laterality && view
      ? { series_uid: null, empty: true, missing: { laterality, view }, of }
      : { series_uid: null, empty: true };
  };
  const viewports = [];
  for (let row = 0; row < current.length; row += 2) {
    viewports.push(slot(current[row], row, 'current'), slot(current[row + 1], row + 1, 'current'),
      slot(prior[row], row, 'prior'), slot(prior[row + 1], row + 1, 'prior'));
  }
  return { layout: `${Math.ceil(current.length / 2)}x4`, viewports };
}
