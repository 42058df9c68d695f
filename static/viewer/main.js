/**
 * The viewer page: a grid of viewports, the series strip, the toolbar and keyboard.
 * Wiring only; each viewport draws and handles its own pointer input (viewport.js),
 * maths lives in math/ and tools/.
 * @module main
 */
import {
  deleteMeasurement, fetchFrame, fetchInstanceFrames, fetchMeasurements, fetchSeriesMetadata,
  fetchStudyHangings, saveMeasurement, seriesMetadataUrl, updateMeasurement,
} from './io/api.js';
import { FrameDecoder, takeStartedWorkers } from './io/decoder.js';
import { takeFrame, takeListing } from './io/early.js';
import { FrameLoader } from './io/loader.js';
import { BorrowedLoader } from './io/borrowed-loader.js';
import { LiveStudy } from './io/live.js';
import { showHeld } from './shell/held.js';
import { NodeHealthNotice } from './shell/node-health.js';
import { chooseBudget } from './state/load-plan.js';
import { OpeningHanging, seriesTitle } from './state/opening.js';
import {
  crossReference, imagePlane, nearestSlice, planeRelation, toPatient, toPixel,
} from './math/crossref.js';
import { assignSeries, forScreen, parseLayout } from './math/layout.js';
import { dot, sub, unit } from './math/vec3.js';
import { CT_PRESETS } from './math/voi.js';
import { nudgeStep } from './tools/edit.js';
import { cineRate } from './tools/cine.js';
import { focusMessage, progressView } from './tools/progress.js';
import { StudyState } from './state/study.js';
import { indexForKey, sameImage } from './tools/stack.js';
import { MeasurementEdits } from './tools/undo.js';
import { Viewport } from './viewport.js';
import { bindDrop, bindStripButton } from './shell/series-drag.js';
import { bindPanels } from './shell/panels.js';
import { Toolbar } from './shell/toolbar.js';
import { KEY_SERIES_UID, KeyImages, keySeries } from './state/key-images.js';
import { fetchKeyImages, fetchReceivingNodes, saveKeyImage, sendKeyImages } from './io/api.js';
import { fetchPriors, retrieveInNewTab } from './io/priors.js';
import { comparePrior, linkedSlice, matchSeries, samePatient } from './math/priors.js';
import { fill, PriorsPanel } from './shell/priors-panel.js';
import { besidePrior, priorViews } from './math/mammo.js';
import { fetchPresentationStates } from './io/presentation.js';
import { ViewerWindows } from './shell/windows.js';
import { startingSeries } from './state/windows.js';

// Modules the first image does not need (MPR, Save PNG and Print, reports, presentation
// states, the measurement list, DICOM tags, the key images' strip and sending) are not
// imported above: the first image would wait for them. They are fetched once it is
// drawn, or at once when one of their controls is pressed first (the press waits).
let firstDrawn;
const firstImage = new Promise((resolve) => { firstDrawn = resolve; });
// A study with no image to show yet still gets them, a little later.
setTimeout(() => firstDrawn(), 5000);

/**
 * Run ``load`` (which imports a module and binds it) once: after the first image, or
 * when a control matching ``selector`` is clicked, tapped or pressed by key before then.
 * @returns {() => Promise<*>} what starts it now, and gives what ``load`` gave
 */
function later(load, selector = '') {
  let loading = null;
  const early = (event) => {
    const control = event.target.closest?.(selector);
    // A modified click on a link (a new tab) is the browser's, as the module leaves it.
    if (!control || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    // Its module in: the press again, now its own. Failed: a link still goes where it
    // points (a report opens as a page); the next press asks for the module again.
    start().then(() => control.click(), () => { if (control.href) window.location.assign(control.href); });
  };
  function start() {
    loading ??= load().then((loaded) => {
      if (selector) document.removeEventListener('click', early, true);
      return loaded;
    }, (error) => {
      loading = null; // asked for again at the next press
      console.warn(`module: ${error.message}`);
      throw error;
    });
    return loading;
  }
  if (selector) document.addEventListener('click', early, true);
  // After the frame that shows the first image.
  firstImage.then(() => requestAnimationFrame(() => setTimeout(() => start().catch(() => {}))));
  return start;
}

const root = document.getElementById('viewer');
const grid = document.getElementById('viewport-grid');
const studyUid = root.dataset.studyUid;
const text = JSON.parse(document.getElementById('viewer-text').textContent);
const patient = { name: root.dataset.patientName, id: root.dataset.patientId };
const query = new URLSearchParams(window.location.search);
const rendererKind = query.get('renderer') || 'webgl2';
const seriesUids = [...document.querySelectorAll('.series-strip button')].map(
  (button) => button.dataset.seriesUid,
);
const metadata = new Map();
// The series of priors opened beside this study: series UID → the prior (priors API
// entry). Their listings and frames are asked for under the prior's study UID.
const priorOf = new Map();
const priorSeries = new Map(); // series UID → its strip entry (number, modality, description)
// A prior's series opened in a window that borrows this one's loader (shell/windows.js).
const lent = new Map();
const studyOf = (seriesUid) => priorOf.get(seriesUid)?.study_uid || lent.get(seriesUid) || studyUid;
// A study opened while it arrives is hung again as its series begin to arrive, until
// the person chooses for themselves; not when the address asked for a series or none.
const opening = new OpeningHanging({
  follow: !root.dataset.initialSeries && query.get('protocol') !== 'none',
  series: seriesUids,
  begun: [...document.querySelectorAll('.series-strip button')]
    .filter((button) => Number(button.dataset.done) > 0).map((button) => button.dataset.seriesUid),
});
let viewports = [];
// Presentation states (GSPS) of the study: a choice in each viewport whose series they reference.
// Made with its module, after the first image (shell/presentation.js).
let presentations = null;
let active = null;
const study = new StudyState();
// Key images: this person's marks and every KOS document's (the strip's entry made on the first answer).
const keyImages = new KeyImages();
let keyStrip = null;
const toolbar = new Toolbar(root, {
  text,
  onLayout: (name) => chooseLayout(name),
  onTool: () => { viewports.forEach((v) => { v.draft = null; }); },
});
// The whole study streams into the browser, what is on screen first, within a budget
// that fits the device (?budget=MB overrides it); frames travel as JPEG-LS lossless,
// decoded in workers (?frames=raw asks for the stored values as they are).
// The page started the first worker before these modules ran (viewer.html).
const decoder = query.get('frames') !== 'raw' && FrameDecoder.supported()
  ? new FrameDecoder(undefined, { started: takeStartedWorkers() }) : null;
// A decoder that could not start: the rest of the study comes raw.
const working = () => (decoder && !decoder.broken ? decoder : null);
let heldShown = false;
// Multi-monitor reading: this study's other windows, kept in step; a window opened by
// another borrows its loader (one cache, nothing copied) while the opener is there.
const windows = new ViewerWindows({
  studyUid,
  number: Number(query.get('window')) || 1,
  text: text.windows,
  viewports: () => viewports,
  studyOf,
  follow: (v, frameOfReferenceUid, centre) => followCentre(v, frameOfReferenceUid, centre),
  linked: () => linked,
  showCursor: (point, frameOfReferenceUid, ofStudy) => showCursorAt(point, frameOfReferenceUid, null, ofStudy),
  refreshMeasurements: async (refreshed) => {
    const before = new Set(study.measurements.map((m) => m.id));
    const found = await fetchMeasurements(studyUid);
    // A prior's measurements (drawn here, saved under the prior) are not in this study's
    // list: they stay, not dropped as if deleted elsewhere.
    const ofPrior = (m) => Boolean(m.study_uid) && m.study_uid !== studyUid;
    // One dragged, nudged or being saved here stays as it is here (not the server's older copy).
    const editing = (id) => edits.inFlight(id) || viewports.some((v) => v.edit?.measurement.id === id);
    study.measurements = [...refreshed(study.measurements.filter((m) => !ofPrior(m)), found, before, editing),
      ...study.measurements.filter(ofPrior)];
    if (study.selected !== null && !study.find(study.selected)) study.select(null);
    redrawMeasurements();
  },
  start: () => {
    const prior = viewports.map((v) => v.state.series?.series_uid).find((uid) => priorOf.has(uid));
    return startingSeries(seriesUids, viewports.map((v) => v.state.series?.series_uid).filter(Boolean),
      prior ? { study_uid: studyOf(prior), series_uid: prior } : null);
  },
  // Another window marked a key image: listed again, after any mark of this one's on its way.
  refreshKeyImages: () => {
    keySaving = keySaving.then(() => fetchKeyImages(studyUid)).then(showKeyImages)
      .catch((error) => console.warn(`key images: ${error.message}`));
  },
  onBlocked: (message) => {
    active.state.error = message;
    active.draw();
  },
  onOrphaned: () => useOwnLoader(),
  // A window gone: its views, and its "Key images" series, leave the loader's plan.
  release: (owner) => {
    loader.setShown([], owner);
    loader.dropSeries(keyLoaderUid(owner));
  },
});
const makeLoader = () => new FrameLoader({
  seriesUids,
  budget: chooseBudget({
    deviceMemory: navigator.deviceMemory,
    narrow: toolbar.narrow,
    overrideMb: Number(query.get('budget')) || undefined,
  }),
  // The opening image may have been asked for already, while the modules loaded (io/early.js).
  fetchFrame: (sopUid, frame, signal, seriesUid) => fetchFrame(studyOf(seriesUid), sopUid, frame, signal, working(), {
    response: takeFrame(sopUid, frame, { jls: Boolean(working()) }),
  }),
  // A large image on screen comes reduced first (?preview=off asks for the frame alone).
  fetchReduced: query.get('preview') === 'off' ? undefined
    : (sopUid, frame, signal, onArrived, seriesUid) => fetchFrame(
      studyOf(seriesUid), sopUid, frame, signal, working(),
      { reduce: true, onArrived, response: takeFrame(sopUid, frame, { jls: Boolean(working()), reduce: true }) },
    ),
  // A "Key images" entry is fetched from its own series (the loader names it).
  fetchBatch: (seriesUid, sopUids, onFrame, signal, onFailure) => fetchInstanceFrames(
    studyOf(seriesUid), seriesUid, sopUids, onFrame, signal, onFailure, working(),
  ),
  listSeries: (seriesUid) => loadMetadata(seriesUid),
  onChange: () => {
    if (heldShown) return;
    heldShown = true;
    requestAnimationFrame(() => { heldShown = false; showHeld(loader.stats(), text); });
  },
});
// The opener's loader, seen through a BorrowedLoader: what waits on it can be asked again.
let loader = windows.borrowed ? new BorrowedLoader(windows.borrowed, windows.owner) : makeLoader();
// The opener's loader tells the opener's strip what is held; this one's is told here.
const heldTimer = windows.borrowed ? setInterval(() => showHeld(loader.stats(), text), 1000) : null;

/**
 * The "Key images" series' name in the loader: each window's own (``owner``, its name
 * in the plan), since in a loader shared by windows each lists its own key images.
 */
function keyLoaderUid(owner = windows.owner) {
  return owner === 'main' ? KEY_SERIES_UID : `${KEY_SERIES_UID}:${owner}`;
}

/**
 * The opener has gone: a loader of this window's own. Every frame, preview and MPR
 * volume still waiting on the opener's loader (whose promises now never settle) is
 * asked of it again, and the opener's loader is referred to no more.
 */
function useOwnLoader() {
  clearInterval(heldTimer);
  const borrowed = loader;
  loader = makeLoader();
  for (const listing of metadata.values()) listing.then((found) => loader.setSeries(found), () => {});
  if (keyImages.images.length) keyListing().catch(() => {});
  for (const v of viewports) v.options.loader = loader;
  showLoader();
  loader.start();
  borrowed.lose(loader);
  // An image that failed through the opener's loader is asked for again.
  for (const v of viewports) if (v.state.series && !v.state.frame) v.show(v.state.index);
}
// Save PNG and Print: their dialogs read the grid through these.
later(async () => {
  const { bindExport } = await import('./export/dialogs.js');
  bindExport({
    studyUid, text, active: () => active, viewports: () => viewports, layout: () => root.dataset.layout,
    mpr: () => mpr,
  });
}, '#export-png, #print-film');

// Listings the page asked for while its scripts loaded (the series shown first).
const preloaded = new Set([...document.querySelectorAll('link[rel="preload"][as="fetch"]')]
  .map((link) => new URL(link.href).pathname));

function loadMetadata(seriesUid) {
  if (seriesUid === KEY_SERIES_UID) return keyListing();
  if (!metadata.has(seriesUid)) {
    // The first asking takes the preloaded answer (it is only as old as the page).
    const url = seriesMetadataUrl(studyOf(seriesUid), seriesUid);
    const cache = preloaded.delete(url) ? 'force-cache' : 'default';
    // The loader hears of every listing before any viewport shows from it.
    const asked = takeListing(url) || fetchSeriesMetadata(studyOf(seriesUid), seriesUid, cache);
    const listing = asked.then((found) => {
      loader.setSeries(found);
      return found;
    }, (error) => {
      // Asked for again next time (a series not yet begun on the node has no listing).
      if (metadata.get(seriesUid) === listing) metadata.delete(seriesUid);
      throw error;
    });
    metadata.set(seriesUid, listing);
  }
  return metadata.get(seriesUid);
}

/** Tell the loader what each viewport shows, active first. */
function showLoader() {
  loader.setShown([active, ...viewports.filter((v) => v !== active)].filter(Boolean).map((v) => ({
    uid: v.state.series?.series_uid === KEY_SERIES_UID ? keyLoaderUid() : v.state.series?.series_uid,
    index: v.state.index,
    direction: v.direction,
  })), windows.owner);
}
// Back from the back-forward cache: the opener's loader forgot this window's views
// (pagehide), so they are told again now, not at the next scroll.
window.addEventListener('pageshow', (event) => { if (event.persisted) showLoader(); });

function reflectActive() {
  // The page's data attributes and slider follow the active viewport.
  if (!active) return;
  const { state } = active;
  root.dataset.index = String(state.index);
  root.dataset.ready = state.frame ? 'true' : 'false';
  if (state.frame) firstDrawn();
  const slider = document.getElementById('stack-slider');
  slider.max = String(Math.max((state.series?.instances.length || 1) - 1, 0));
  slider.value = String(state.index);
  for (const button of document.querySelectorAll('.series-strip button[data-series-uid]')) {
    button.setAttribute('aria-pressed', String(button.dataset.seriesUid === state.series?.series_uid));
  }
  updatePresets(state.frame);
  showKeyState();
  showCineRate();
  document.getElementById('invert').setAttribute('aria-pressed', String(Boolean(state.view.invert)));
  document.getElementById('one-to-one').setAttribute('aria-pressed', String(Boolean(state.placement.oneToOne)));
}

// The file's own windows come first, then the CT presets.
let presetKey = '';
function updatePresets(frame) {
  const windows = frame?.windows || [];
  const key = windows.map((w) => `${w.center}/${w.width}`).join(',');
  if (key === presetKey) return;
  presetKey = key;
  const select = document.getElementById('preset');
  const options = [new Option(text.fromFile, 'file')];
  windows.forEach((w, i) => options.push(new Option(`${text.fileWindow} ${i + 1}: W ${w.width} L ${w.center}`, `file-${i}`)));
  for (const preset of CT_PRESETS) options.push(new Option(text.presets[preset.name] || preset.name, preset.name));
  select.replaceChildren(...options);
}

function activate(viewport) {
  active = viewport;
  showLoader();
  for (const v of viewports) v.element.classList.toggle('active', v === viewport);
  reflectActive();
  scheduleFocus();
  updateReferenceLines();
}

// Linked scrolling: other stacks in the same frame of reference follow the active one
// to the slice nearest its centre.
let linked = false;
function syncLinked() {
  if (!linked || !active?.state.series) return;
  const current = active.state.series.instances[active.state.index];
  const plane = current && imagePlane(current);
  if (!plane) return;
  const centre = toPatient(plane, (current.columns - 1) / 2, (current.rows - 1) / 2);
  for (const v of viewports) {
    const stack = v.state.series?.instances;
    if (v === active || !stack || stack.length < 2) continue;
    if (studyOf(v.state.series.series_uid) !== studyOf(active.state.series.series_uid)) {
      // A prior beside the current study (or the current beside a prior): another visit,
      // never the same frame of reference whatever the UIDs say (two empty ones are no
      // match); linked by slice position, approximately, and it says so (showLinkNotes);
      // without the positions to do it, not linked at all.
      const across = linkedSlice(active.state.series.instances, active.state.index, stack, { sameStudy: false });
      if (across && across.index >= 0 && across.index !== v.state.index) v.show(across.index);
      continue;
    }
    followCentre(v, current.frame_of_reference_uid, centre);
  }
}

/** Turn a viewport's stack to the slice nearest a point of its frame of reference. */
function followCentre(v, frameOfReferenceUid, centre) {
  const stack = v.state.series?.instances;
  if (!stack || stack.length < 2 || stack[0].frame_of_reference_uid !== frameOfReferenceUid) return;
  const index = nearestSlice(stack, centre);
  if (index >= 0 && index !== v.state.index) v.show(index);
}

/** Each viewport that follows a linked scroll across frames of reference says so. */
function showLinkNotes() {
  for (const v of viewports) {
    const series = v.state.series;
    // Said in the prior's viewport (the current study is the one read), of the viewport
    // of another study it follows: the active one if it is, else the first.
    const across = (other) => other !== v && other.state.series
      && studyOf(other.state.series.series_uid) !== studyOf(series.series_uid);
    const leader = linked && series && priorOf.has(series.series_uid)
      ? [active, ...viewports].find((other) => other && across(other)) : null;
    if (!leader) {
      v.setLinkNote('', '');
      continue;
    }
    const link = linkedSlice(leader.state.series.instances, leader.state.index, series.instances, { sameStudy: false });
    if (link) v.setLinkNote(text.priors.approximate, text.priors.approximateWhy);
    else v.setLinkNote(text.priors.notLinked, '');
  }
}

// The 3-D cursor: a point on one image; every viewport in its frame of reference
// turns to the slice nearest it and marks where it lies (within half a slice only).
function placeCursor(source, [column, row]) {
  const entry = source.state.series?.instances[source.state.index];
  const plane = entry && imagePlane(entry);
  if (!plane) return;
  const point = toPatient(plane, column, row);
  showCursorAt(point, entry.frame_of_reference_uid, source);
  windows.cursor(point, entry.frame_of_reference_uid, studyOf(source.state.series.series_uid));
}

/**
 * Mark the cursor's point on every viewport of its frame of reference (of ``ofStudy``
 * only, for one placed in another window), turning each to the slice through it.
 */
function showCursorAt(point, frameOfReferenceUid, source, ofStudy = '') {
  for (const v of viewports) {
    const stack = v.state.series?.instances;
    if (!stack || stack[0]?.frame_of_reference_uid !== frameOfReferenceUid
      || (ofStudy && studyOf(v.state.series.series_uid) !== ofStudy)) {
      v.setCursor(null);
      continue;
    }
    const index = v === source ? source.state.index : nearestSlice(stack, point);
    const target = stack[index];
    const targetPlane = target && imagePlane(target);
    if (!targetPlane) { v.setCursor(null); continue; }
    const distance = Math.abs(dot(sub(point, targetPlane.origin), unit(targetPlane.normal)));
    const thickness = Number(target.slice_thickness) || 1;
    v.setCursor(distance <= thickness / 2 + 0.01 || v === source
      ? { sop_instance_uid: target.sop_instance_uid, frame: target.frame, point: toPixel(targetPlane, point) } : null);
    if (v !== source && index !== v.state.index) v.show(index);
  }
  window.pacsweb.cursor = point;
}

// Where the active viewport's slice lies on every other viewport (same frame of
// reference only); on a localizer, the first and last slices of the stack too.
function updateReferenceLines() {
  const source = active?.state.series;
  const current = source?.instances[active.state.index];
  for (const v of viewports) {
    const target = v.state.series?.instances[v.state.index];
    if (v === active || !current || !target || v.state.series.series_uid === source.series_uid) {
      v.setReferenceLines([]);
      continue;
    }
    const lines = [];
    const here = crossReference(target, current);
    if (here) lines.push({ points: here, kind: 'current' });
    if (v.state.series.instances.length === 1 && source.instances.length > 1) {
      for (const end of [source.instances[0], source.instances[source.instances.length - 1]]) {
        const bound = crossReference(target, end);
        if (bound) lines.push({ points: bound, kind: 'bound' });
      }
    }
    v.setReferenceLines(lines, planeRelation(target, current) === 'same');
  }
}

/**
 * Open a series as a protocol hangs it: then its window preset, if it names one; a
 * mammogram on the image it names, its chest wall as it asks (``hungEntry``).
 */
function openHung(viewport, seriesUid, presetName, hungEntry = null) {
  viewport.chestWall = hungEntry?.chest_wall || null;
  viewport.openAt = hungEntry?.sop_instance_uid || null;
  const preset = CT_PRESETS.find((p) => p.name === presetName);
  openIn(viewport, seriesUid).then((opened) => {
    if (opened && preset) viewport.hangWindow(preset.center, preset.width);
  });
}

/** Open a series in a viewport; false if another was asked for there meanwhile. */
async function openIn(viewport, seriesUid) {
  if (!seriesUid) return false;
  viewport.element.dataset.ready = 'false';
  if (viewport === active) {
    // Tell the worker at once, before the series' listing has even arrived.
    live.sendFocus(focusMessage([
      { seriesUid: priorOf.has(seriesUid) ? null : seriesUid, listingPosition: null },
      ...shown(viewports.filter((v) => v !== viewport)),
    ]));
  }
  // The listing goes in unawaited: the viewport drops it if a later series overtakes it.
  // One that failed while the series had not begun to arrive is asked for once more.
  return viewport.openSeries(loadMetadata(seriesUid).catch(() => loadMetadata(seriesUid)));
}

function setLayout(layoutText, hungViewports = null) {
  const layout = parseLayout(layoutText);
  if (!layout) return false;
  const shown = viewports.map((v) => v.state.series?.series_uid).filter(Boolean);
  for (const v of viewports) v.destroy();
  grid.replaceChildren();
  grid.style.gridTemplateColumns = `repeat(${layout.columns}, 1fr)`;
  grid.style.gridTemplateRows = `repeat(${layout.rows}, 1fr)`;
  grid.classList.remove('maximised');
  const count = layout.rows * layout.columns;
  const assigned = hungViewports
    ? Array.from({ length: count }, (_, i) => hungViewports[i]?.series_uid || '')
    : assignSeries(shown, seriesUids, count);
  if (hungViewports) {
    // A protocol chosen while the study is still arriving may lack a series for some
    // viewports: fill them in strip order, as without a protocol.
    const spare = seriesUids.filter((uid) => !assigned.includes(uid));
    // A slot hung empty on purpose (a view missing beside its prior, or from the study)
    // stays empty: another series there would pass for the view it was for.
    const kept = (entry) => entry?.empty || entry?.missing;
    for (let i = 0; i < count; i += 1) if (!assigned[i] && !kept(hungViewports[i])) assigned[i] = spare.shift() || '';
  }
  viewports = assigned.map((seriesUid, position) => {
    const element = document.createElement('div');
    element.className = 'viewport';
    element.tabIndex = -1;
    element.dataset.position = String(position);
    grid.append(element);
    const viewport = new Viewport(element, {
      studyUid, text, patient, rendererKind, study: root.dataset.study,
      onActivate: activate,
      isKey: (entry) => keyImages.isKey(entry),
      onChange: (v) => { if (v === active) reflectActive(); },
      loader,
      onShow: (v) => {
        showLoader(); scheduleFocus(); updateReferenceLines(); showLinkNotes();
        if (v === active) {
          syncLinked();
          windows.scrolled(v);
        }
      },
      studyOf: priorLabel,
      onDrawn: (v) => presentations?.drawn(v),
      tool: () => toolbar.tool,
      onCursor: placeCursor,
      measurements: () => study.measurements,
      selected: () => study.selected,
      onMeasure: addMeasurement,
      onSelectMeasurement: (id) => { study.select(id); redrawMeasurements(); },
      onEditMeasurement: (measurement, before) => edits.moved(measurement, before),
      dragMode: () => toolbar.dragMode,
      onDoubleTap: (v) => { if (toolbar.narrow) v.place({ zoom: 1, panX: 0, panY: 0, oneToOne: false }); },
    });
    bindDrop(element, (seriesUid) => {
      opening.takeOver();
      activate(viewport);
      openIn(viewport, seriesUid);
    });
    // A double click maximises the viewport; on a phone, where one viewport fills the
    // screen, a double tap fits the image instead (onDoubleTap).
    element.addEventListener('dblclick', () => {
      if (toolbar.narrow) return;
      opening.takeOver();
      toggleMaximise(viewport);
    });
    openHung(viewport, seriesUid, hungViewports?.[position]?.window, hungViewports?.[position]);
    if (!seriesUid && hungViewports?.[position]?.missing) viewport.showEmpty(missingView(hungViewports[position]));
    return viewport;
  });
  activate(viewports[0]);
  root.dataset.layout = `${layout.rows}x${layout.columns}`;
  toolbar.showLayout(root.dataset.layout);
  return true;
}

/** What an empty hung slot says: its view, and that the study (or the prior) lacks it. */
function missingView(entry) {
  const view = `${entry.missing.laterality} ${entry.missing.view}`;
  return fill(entry.of === 'prior' ? text.mammo.notInPrior : text.mammo.notInStudy, { view });
}

function toggleMaximise(viewport) {
  const on = !grid.classList.contains('maximised');
  grid.classList.toggle('maximised', on);
  for (const v of viewports) v.element.classList.toggle('maximised', on && v === viewport);
  activate(viewport);
  requestAnimationFrame(() => viewports.forEach((v) => v.draw()));
}

// A strip entry opens in the active viewport, or in the one it is dropped on (a prior's
// series too: shell/priors-panel gives its buttons these).
const stripActions = {
  open: (seriesUid) => {
    opening.takeOver();
    // On a phone the strip lies over the image: it gives way once a series is chosen.
    if (toolbar.narrow) toolbar.showStrip(false);
    return openIn(active, seriesUid);
  },
  dropOn: (element, seriesUid) => {
    const viewport = viewports.find((v) => v.element === element);
    if (!viewport) return;
    opening.takeOver();
    activate(viewport);
    openIn(viewport, seriesUid);
  },
};
for (const button of document.querySelectorAll('.series-strip button')) bindStripButton(button, stripActions);

document.getElementById('layout-custom').addEventListener('change', (event) => {
  if (chooseLayout(event.target.value)) {
    event.target.setCustomValidity('');
    toolbar.closeMenus();
  } else {
    event.target.setCustomValidity(text.badLayout);
    event.target.reportValidity();
  }
});

// Cine plays at the file's rate until the person types one; theirs is kept from then on.
const fpsInput = document.getElementById('cine-fps');
let fpsChosen = false;
fpsInput.addEventListener('input', () => { fpsChosen = true; });
const cineFor = (viewport) => cineRate(fpsChosen ? Number(fpsInput.value) : null,
  viewport?.state.series?.instances[viewport.state.index]);
function showCineRate() {
  const rate = cineFor(active);
  fpsInput.dataset.source = rate.source;
  fpsInput.title = rate.source === 'file' ? text.cineFromFile : '';
  if (rate.source !== 'person') fpsInput.value = String(Math.round(rate.fps));
}
function toggleCine() {
  const viewport = active;
  const playing = viewport.toggleCine(() => cineFor(viewport).fps);
  document.getElementById('cine').setAttribute('aria-pressed', String(playing));
}

const tagState = { elements: [], sop: '' };
let tags = null; // tools/tags.js, imported when the panel first opens
async function toggleTags() {
  const panel = document.getElementById('tags');
  panel.toggleAttribute('hidden');
  if (panel.hidden || !active.state.series) return;
  const sop = active.state.series.instances[active.state.index].sop_instance_uid;
  tags ??= await import('./tools/tags.js');
  if (tagState.sop !== sop) {
    tagState.elements = await tags.loadTags(studyOf(active.state.series.series_uid), sop);
    tagState.sop = sop;
  }
  tags.renderTags(document.getElementById('tag-list'), tagState.elements,
    document.getElementById('tag-search').value);
}

const actions = {
  invert: () => { active.state.view.invert = !active.state.view.invert; active.draw(); reflectActive(); },
  'one-to-one': () => {
    active.place({ ...active.state.placement, zoom: 1, panX: 0, panY: 0, oneToOne: !active.state.placement.oneToOne });
    reflectActive();
  },
  'zoom-in': () => active.zoomBy(1.25),
  'zoom-out': () => active.zoomBy(0.8),
  rotate: () => active.turn(90),
  'flip-h': () => active.place({ flipH: !active.state.placement.flipH }),
  'flip-v': () => active.place({ flipV: !active.state.placement.flipV }),
  reset: () => active.reset(),
  cine: toggleCine,
  magnifier: () => {
    const on = active.toggleMagnifier();
    document.getElementById('magnifier').setAttribute('aria-pressed', String(on));
  },
  'show-tags': toggleTags,
  'measure-list': async () => {
    await loadMeasurePanel();
    const shown = measurePanel.toggle();
    document.getElementById('measure-list').setAttribute('aria-pressed', String(shown));
  },
  link: () => {
    linked = !linked;
    document.getElementById('link').setAttribute('aria-pressed', String(linked));
    showLinkNotes();
    syncLinked();
  },
};
actions['help-button'] = () => document.getElementById('help').toggleAttribute('hidden');
actions['new-window'] = () => windows.open();
// Keys for what the toolbar's own buttons do.
const keyActions = { 'series-toggle': () => toolbar.showStrip(root.dataset.strip !== 'open') };
for (const [id, action] of Object.entries(actions)) {
  document.getElementById(id).addEventListener('click', action);
}
// Each panel's toolbar button shows whether it is open, however it was opened or closed.
const panelButtons = { help: 'help-button', tags: 'show-tags', 'measurements-panel': 'measure-list' };
bindPanels(Object.keys(panelButtons), (id, shown) => {
  document.getElementById(panelButtons[id]).setAttribute('aria-pressed', String(shown));
});
// MPR of the active series replaces the grid until it is left.
let mpr = null;
const loadMpr = later(() => import('./mpr/view.js'));
let mprLoading = false;
async function toggleMpr() {
  opening.takeOver();
  if (mprLoading) return; // pressed again while its module is on its way
  if (mpr) {
    mpr.destroy();
    mpr = null;
    window.pacsweb.mpr = null;
    document.getElementById('mpr-view').hidden = true;
    grid.hidden = false;
    document.getElementById('stack-slider').hidden = false;
    document.getElementById('mpr').setAttribute('aria-pressed', 'false');
    requestAnimationFrame(() => viewports.forEach((v) => v.draw()));
    return;
  }
  const viewport = active;
  if (!viewport?.state.series) return;
  mprLoading = true;
  let MprView;
  try {
    ({ MprView } = await loadMpr());
  } catch (error) {
    viewport.state.error = error.message;
    viewport.draw();
    return;
  } finally {
    mprLoading = false;
  }
  // The person may have moved on while it loaded: MPR is of the series on screen now.
  if (active !== viewport || !viewport.state.series) return;
  const box = document.getElementById('mpr-view');
  grid.hidden = true;
  box.hidden = false;
  document.getElementById('stack-slider').hidden = true; // MPR pages by its own input
  document.getElementById('mpr').setAttribute('aria-pressed', 'true');
  mpr = new MprView(box, {
    series: viewport.state.series, text, patient, rendererKind,
    view: viewport.state.frame ? { ...viewport.state.view } : null,
    // What the browser holds of the series at once, the rest fetched for the volume.
    loadFrames: (onFrame, signal) => loader.loadAll(
      viewport.state.series.series_uid, viewport.state.series.instances, onFrame, signal,
    ),
    measurements: () => study.measurements,
    selected: () => study.selected,
    tool: () => toolbar.tool,
    onMeasure: async (draft) => {
      const failed = await keepMeasurement(draft);
      if (failed) mpr?.notice(failed);
    },
    onExit: toggleMpr,
  });
  window.pacsweb.mpr = mpr;
  await mpr.build();
}
actions.mpr = toggleMpr;
document.getElementById('mpr').addEventListener('click', toggleMpr);

const keys = {
  p: 'mpr', i: 'invert', 1: 'one-to-one', '+': 'zoom-in', '=': 'zoom-in', '-': 'zoom-out', o: 'rotate',
  h: 'flip-h', v: 'flip-v', r: 'reset', c: 'cine', t: 'show-tags', m: 'magnifier', l: 'link',
  k: 'measure-list', s: 'series-toggle', w: 'new-window',
};
root.addEventListener('keydown', (event) => {
  if (['SELECT', 'INPUT'].includes(event.target.tagName)) return;
  // Delete and undo work the same over the stack and over MPR (there, only on what
  // MPR shows: a length drawn on it).
  const removable = study.selection();
  if ((event.key === 'Delete' || event.key === 'Backspace') && removable
    && (!mpr || removable.space === 'patient')) {
    event.preventDefault();
    // A run of nudges is saved first, so its PATCH never lands on a deleted measurement.
    const id = study.selected;
    edits.rest();
    edits.track(edits.saving.then(() => removeMeasurement(id))
      .then((removed) => { if (removed) edits.deleted(removed); }));
    return;
  }
  // Ctrl+Z undoes; Ctrl+Shift+Z and Ctrl+Y redo (Cmd on a Mac).
  const command = event.ctrlKey || event.metaKey;
  const key = event.key.toLowerCase();
  if (command && ((key === 'z' && event.shiftKey) || key === 'y')) {
    event.preventDefault();
    edits.redo(); // after any drawing or deletion still on its way
    return;
  }
  if (command && key === 'z') {
    event.preventDefault();
    edits.undo();
    return;
  }
  if (mpr) {
    if (event.key === 'Escape' || event.key === 'p') toggleMpr();
    else if (mpr.handleKey(event)) event.preventDefault();
    return;
  }
  if (!active?.state.series) return;
  // Shift+arrows nudge the selected measurement (if it is one's own and on screen).
  const step = event.shiftKey && study.selected !== null ? nudgeStep(active.matrix(), event.key) : null;
  const shownEntry = active.state.series.instances[active.state.index];
  const selection = study.selection();
  const nudged = step && selection?.mine && sameImage(selection, shownEntry) ? selection : null;
  if (nudged) {
    event.preventDefault();
    edits.nudge(nudged, step);
    return;
  }
  if (event.key === 'Escape') {
    viewports.forEach((v) => { v.draft = null; });
    toolbar.setTool('');
    study.select(null);
    redrawMeasurements();
    return;
  }
  const next = indexForKey(event.key, active.state.index, active.state.series.instances.length);
  if (next !== null) {
    event.preventDefault();
    active.show(next);
  } else if (event.key in keys) {
    (keyActions[keys[event.key]] || actions[keys[event.key]])();
  } else if (event.key === '?') {
    actions['help-button']();
  }
});
document.getElementById('stack-slider').addEventListener('input', (event) => {
  active.show(Number(event.target.value));
});
document.getElementById('preset').addEventListener('change', (event) => {
  const { value } = event.target;
  const preset = CT_PRESETS.find((p) => p.name === value);
  const fileWindow = value.startsWith('file-') ? active.state.frame?.windows[Number(value.slice(5))] : null;
  const target = mpr?.state.ready ? mpr : active;
  if (preset) target.setWindow(preset.center, preset.width);
  else if (fileWindow) target.setWindow(fileWindow.center, fileWindow.width);
  else if (value === 'file') active.show(active.state.index, { keepWindow: false });
});
document.getElementById('colormap').addEventListener('change', (event) => {
  if (mpr?.state.ready) {
    mpr.state.view = { ...mpr.state.view, colormap: event.target.value };
    mpr.requestDraw();
    return;
  }
  active.state.view = { ...active.state.view, colormap: event.target.value };
  active.draw();
});
document.getElementById('tag-search').addEventListener('input', (event) => {
  tags?.renderTags(document.getElementById('tag-list'), tagState.elements, event.target.value);
});

// Measurements: this person's and those shared, saved on the server per image.
const redrawMeasurements = () => {
  viewports.forEach((v) => v.drawAnnotations());
  mpr?.requestDraw();
  measurePanel?.refresh();
};
const edits = new MeasurementEdits({
  update: async (...change) => {
    const updated = await updateMeasurement(...change);
    windows.measured(); // the study's other windows list them again
    return updated;
  },
  remove: async (id) => {
    await deleteMeasurement(id); // a refusal throws: the step stays to be tried again
    study.forget(id);
    windows.measured();
  },
  create: async (measurement) => {
    const saved = await saveMeasurement(studyOf(measurement.series_uid), measurement);
    study.add(saved);
    windows.measured();
    return saved;
  },
  find: (id) => study.find(id),
  changed: redrawMeasurements,
  failed: (message) => {
    active.state.error = `${text.measurements.notChanged}: ${message}`;
    active.draw();
  },
});
// The list of measurements, made with its module after the first image (or when opened).
let measurePanel = null;
const loadMeasurePanel = later(async () => {
  const { MeasurementPanel } = await import('./shell/measure-panel.js');
  measurePanel ??= new MeasurementPanel(document.getElementById('measurements-panel'), measurePanelOptions);
});
const measurePanelOptions = {
  text: { ...text.measurements, image: text.image },
  kindNames: Object.fromEntries([...document.querySelectorAll('#tool-menu [data-tool]')]
    .filter((b) => b.dataset.tool).map((b) => [b.dataset.tool, b.textContent.trim()])),
  seriesOrder: seriesUids,
  loadSeries: loadMetadata,
  // A frame some viewport has fetched gives ROI statistics and probe values.
  frameFor: (m) => {
    const frame = loader.heldFrame({ sop_instance_uid: m.sop_instance_uid, frame: m.frame });
    return frame ? Promise.resolve(frame) : null;
  },
  measurements: () => study.measurements,
  selected: () => study.selected,
  onOpen: openMeasurement,
  priorOf: (m) => (m.study_uid && m.study_uid !== studyUid ? priorLabel(m.series_uid)?.prior || null : null),
};

/** Show a measurement's image in the active viewport (MPR for one drawn there), and select it. */
async function openMeasurement(measurement) {
  opening.takeOver();
  if (measurement.space === 'patient') {
    if (mpr && mpr.options.series.series_uid !== measurement.series_uid) await toggleMpr();
    if (!mpr) {
      if (active.state.series?.series_uid !== measurement.series_uid) await openIn(active, measurement.series_uid);
      await toggleMpr();
    }
    if (mpr?.state.ready) mpr.showLength(measurement.points);
    study.select(measurement.id);
    redrawMeasurements();
    return;
  }
  if (mpr) await toggleMpr();
  if (active.state.series?.series_uid !== measurement.series_uid) await openIn(active, measurement.series_uid);
  const index = (active.state.series?.instances || []).findIndex((e) => sameImage(e, measurement));
  if (index >= 0 && index !== active.state.index) await active.show(index);
  study.select(measurement.id);
  redrawMeasurements();
  // On a phone the list lies below the images.
  active.element.scrollIntoView({ block: 'nearest' });
}
// Reports and documents open in a panel; an SR's image link opens its image as a measurement does.
later(async () => {
  const { bindDocuments } = await import('./shell/documents.js');
  bindDocuments(root, {
    openImage: (image) => openMeasurement({ ...image, space: 'image', id: null }),
    // On a phone the strip lies over the document: it gives way, as for a series.
    onOpen: () => { if (toolbar.narrow) toolbar.showStrip(false); },
  });
}, '.series-strip a[data-document]');
fetchMeasurements(studyUid).then((found) => {
  study.merge(found); // keeps any drawn while the list was on its way
  redrawMeasurements();
})
  .catch((error) => console.warn(`measurements: ${error.message}`));

/** Save a drawn measurement (undo waits for it); the error's text when it could not be. */
function keepMeasurement(body) {
  return edits.track(saveDrawn(body));
}

async function saveDrawn(body) {
  try {
    const saved = await saveMeasurement(studyOf(body.series_uid), body);
    study.add(saved);
    windows.measured();
    edits.created(saved);
    study.select(saved.id);
    return '';
  } catch (error) {
    return `${text.notSaved}: ${error.message}`;
  } finally {
    redrawMeasurements();
  }
}

async function addMeasurement(viewport, draft) {
  opening.takeOver(); // drawn on this image: it stays on screen
  const body = { ...draft };
  if (draft.kind === 'text') {
    body.label = (window.prompt(text.annotationText || 'Text') || '').slice(0, 200);
    if (!body.label) return;
  }
  const failed = await keepMeasurement(body);
  if (failed) viewport.state.error = failed;
  viewport.draw();
}

/** Delete one of one's own measurements; the one deleted, or null. */
async function removeMeasurement(id) {
  const found = study.find(id);
  if (!found?.mine) return null;
  try {
    await deleteMeasurement(id);
  } catch (error) {
    active.state.error = `${text.measurements.notDeleted}: ${error.message}`;
    active.draw();
    return null;
  }
  study.forget(id);
  windows.measured();
  redrawMeasurements();
  return found;
}


// Live progress: bars on the strip, images filling in, and focus for the worker.
const refreshTimers = new Map();
const listing = new Set(); // series whose first listing is on its way
const liveState = document.getElementById('live-state');
const nodeHealth = new NodeHealthNotice(liveState, text);
const live = new LiveStudy(studyUid, {
  onState: (state) => {
    liveState.dataset.state = state;
    liveState.textContent = text[state] || '';
  },
  onMessage: (message) => {
    if (message.type === 'error') return;
    nodeHealth.receive(message);
    study.receive(message);
    if (opening.receive(message, study.progress)) scheduleHangings();
    if (message.type === 'snapshot') {
      for (const entry of message.series || []) showProgress(entry.uid);
      for (const v of viewports) if (v.state.series) scheduleRefresh(v.state.series.series_uid);
    } else if (message.type === 'progress') {
      if (message.instance) loader.landed(message.series, message.instance);
      showProgress(message.series);
      scheduleRefresh(message.series);
    }
    window.pacsweb.messages.push(message);
  },
});

function showProgress(seriesUid) {
  const entry = study.progress.get(seriesUid);
  const button = document.querySelector(`.series-strip button[data-series-uid="${seriesUid}"]`);
  if (!entry || !button) return;
  const view = progressView(entry);
  const bar = button.querySelector('.series-progress');
  if (!bar) return; // a study that is simply here: nothing to show
  bar.className = `series-progress ${view.state}`;
  bar.setAttribute('aria-valuenow', String(entry.done));
  bar.setAttribute('aria-valuemax', String(entry.total));
  bar.querySelector('.bar').style.width = `${view.percent}%`;
  bar.querySelector('.label').textContent = view.failed
    ? `${view.label} · ${view.failed} ${text.failed}` : view.label;
  const placeholder = button.querySelector('.thumb-placeholder');
  if (placeholder && entry.done > 0) {
    const image = new Image(96, 96);
    image.alt = '';
    image.src = `/studies/${studyUid}/series/${seriesUid}/thumbnail.png`;
    placeholder.replaceWith(image);
  }
}

// A series on screen is listed again once its images stop arriving for a moment.
function scheduleRefresh(seriesUid) {
  if (!viewports.some((v) => v.state.series?.series_uid === seriesUid)) {
    if (loader.knows(seriesUid)) {
      metadata.delete(seriesUid); // listed again when opened; the loader takes what lands
    } else if (!listing.has(seriesUid)) {
      // A series that has just begun to arrive: its listing, so its images stream in too.
      listing.add(seriesUid);
      metadata.delete(seriesUid);
      loadMetadata(seriesUid).catch(() => {}).finally(() => listing.delete(seriesUid));
    }
    return;
  }
  if (refreshTimers.has(seriesUid)) return;
  refreshTimers.set(seriesUid, setTimeout(async () => {
    refreshTimers.delete(seriesUid);
    metadata.delete(seriesUid);
    try {
      const fresh = await loadMetadata(seriesUid);
      for (const v of viewports) await v.updateSeries(fresh);
      if (mpr) await mpr.updateSeries(active.state.series); // the stack's own entries
    } catch { metadata.delete(seriesUid); }
  }, 400));
}

/** Each viewport's series and the slot of its slice, for a focus message. */
function shown(list) {
  // A prior's series are not this study's: the worker retrieving it hears nothing of them.
  return list.filter(Boolean).map((v) => ({
    seriesUid: priorOf.has(v.state.series?.series_uid) ? null : v.state.series?.series_uid || null,
    listingPosition: v.state.series?.instances[v.state.index]?.listing_position ?? null,
  }));
}

// What is on screen, active viewport first, reaches the worker a few times a second.
let focusTimer = null;
function scheduleFocus() {
  if (focusTimer) return;
  focusTimer = setTimeout(() => {
    focusTimer = null;
    live.sendFocus(focusMessage(shown([active, ...viewports.filter((v) => v !== active)])));
  }, 150);
}

// A small handle for tests and benchmarks; it speaks for the active viewport.
window.pacsweb = {
  get state() { return active.state; },
  get viewports() { return viewports; },
  get renderer() { return active.renderer.kind; },
  show: (index) => active.show(index),
  setWindow: (center, width) => active.setWindow(center, width),
  readImage: () => active.readImage(),
  setOneToOne: (on) => active.place({ zoom: 1, panX: 0, panY: 0, rotation: 0, flipH: false,
    flipV: false, oneToOne: on }),
  setLayout,
  messages: [],
  get progress() { return study.progress; },
  get live() { return live; },
  get loader() { return loader; },
  // Multi-monitor reading: whether this window borrows its opener's loader, and what it
  // lends the windows it opens (shell/windows.js).
  get sharedLoader() { return Boolean(windows.host); },
  // The loader lent is the one doing the work (the opener's, while this window borrows it).
  windows: windows.hostFor(() => loader.shared || loader, (seriesUid, ofStudy) => lent.set(seriesUid, ofStudy)),
  get link() { return windows; },
  get measurements() { return study.measurements; },
  get selectedMeasurement() { return study.selected; },
  get priors() { return priorsPanel; },
  compare: () => compareWithPrior(),
};

// Hanging protocols that fit this study, best first; the first one opens the study
// unless a series was asked for by name. On a phone a protocol shows fewer viewports
// (its narrow form); the others are a tap away in the banner's pager.
let hangings = JSON.parse(document.getElementById('hangings').textContent);
const protocolSelect = document.getElementById('protocol');
let hung = null; // {layout, viewports, page, hanging} of the protocol on screen, or null

/** Offer these protocols in the picker; the one on screen stays chosen. */
function offerHangings(list) {
  hangings = list;
  const names = list.map((h) => h.protocol);
  const offered = [...protocolSelect.options].slice(1).map((option) => option.text);
  if (names.join('\n') !== offered.join('\n')) {
    // Only when they differ: the picker may be open in the person's hand.
    const none = protocolSelect.options[0];
    protocolSelect.replaceChildren(none, ...names.map((name, i) => new Option(name, String(i))));
  }
  const index = hung ? list.findIndex((h) => h.protocol === hung.hanging.protocol) : -1;
  protocolSelect.value = index >= 0 ? String(index) : '';
}
offerHangings(hangings);

/** Hang a protocol (null: none; the viewports keep their series, or ``fresh`` the strip's first). */
function applyHanging(hanging, { fresh = false } = {}) {
  if (!hanging) {
    hung = null;
    delete root.dataset.protocol;
    showPager();
    return setLayout('1x1', fresh ? [] : null);
  }
  root.dataset.protocol = hanging.protocol;
  hung = { ...forScreen(hanging, toolbar.narrow), page: 0, hanging };
  const done = setLayout(hung.layout, hung.viewports);
  showPager();
  return done;
}
protocolSelect.addEventListener('change', () => {
  opening.takeOver();
  applyHanging(hangings[Number(protocolSelect.value || -1)] || null);
  toolbar.closeMenus();
});

// Labels and protocols asked for again as series begin to arrive, a moment after the
// first of a burst (first images of every series come together), one answer at a time.
let hangingTimer = null;
let hangingAsk = Promise.resolve();
function scheduleHangings() {
  if (hangingTimer) return;
  hangingTimer = setTimeout(() => {
    hangingTimer = null;
    hangingAsk = hangingAsk.then(refreshHangings);
  }, 250);
}

async function refreshHangings() {
  let found;
  try {
    found = await fetchStudyHangings(studyUid);
  } catch (error) {
    console.warn(`hangings: ${error.message}`);
    opening.missed();
    return;
  }
  for (const series of found.series) labelSeries(series);
  offerHangings(found.hangings);
  const best = found.hangings[0] || null;
  if (!opening.replaces(hung?.hanging || null, best)) return;
  // As a reload would open it; keys keep working if the focus was in a viewport replaced.
  const focused = grid.contains(document.activeElement);
  protocolSelect.value = best ? '0' : '';
  applyHanging(best, { fresh: true });
  if (focused) root.focus({ preventScroll: true });
}

/** A strip entry's label, as the page writes it once the series is here. */
function labelSeries(series) {
  const button = document.querySelector(`.series-strip button[data-series-uid="${series.series_uid}"]`);
  if (!button) return;
  const title = button.querySelector('.series-title');
  if (title) title.textContent = seriesTitle(series);
  const description = button.querySelector('.series-description');
  if (description) description.textContent = series.description || text.noDescription;
}

/** The pager says which of the protocol's viewports are on screen, when not all are. */
/** How many screens the protocol's viewports fill (1 without a protocol). */
const pageCount = () => (hung ? Math.ceil(hung.viewports.length / viewports.length) : 1);

function showPager() {
  const pages = pageCount();
  const pager = document.getElementById('viewport-pager');
  pager.hidden = pages < 2;
  if (pages < 2) return;
  document.getElementById('viewport-page').textContent = text.viewportOf
    .replace('%(n)s', String(hung.page + 1)).replace('%(total)s', String(pages));
}

/** Show page ``page`` of the protocol's viewports in the viewports on screen. */
function showPage(page) {
  const pages = pageCount();
  hung.page = (page + pages) % pages;
  viewports.forEach((viewport, k) => {
    const wanted = hung.viewports[hung.page * viewports.length + k];
    if (wanted?.series_uid) openHung(viewport, wanted.series_uid, wanted.window, wanted);
    else if (wanted?.missing) viewport.showEmpty(missingView(wanted));
  });
  showPager();
}
// Paging is choosing what to read: the protocol is not hung again under it.
document.getElementById('viewport-prev').addEventListener('click', () => { opening.takeOver(); showPage(hung.page - 1); });
document.getElementById('viewport-next').addEventListener('click', () => { opening.takeOver(); showPage(hung.page + 1); });
// A phone turned into a tablet (or back) gets the protocol's form for its screen.
toolbar.narrowQuery.addEventListener('change', () => { if (hung) applyHanging(hung.hanging); });
/** A layout chosen by hand: the protocol's pages are left behind. */
function chooseLayout(name) {
  const done = setLayout(name);
  if (done) {
    opening.takeOver();
    hung = null;
    showPager();
  }
  return done;
}

// Key images: '*' or the star marks the image on screen as one of this person's key
// images (a KOS document in the archive); the strip's entry shows every document's.
// "Send key images…": the person's own KOS to a node they choose (disabled without one).
// Its button stays disabled (as the page comes) until the first answer brings the
// dialog's module with the strip's (showKeyStrip).
let sendKeys = null;
const keyImageModules = later(() => Promise.all([
  import('./shell/key-images.js'), import('./shell/send-key-images.js'),
]));

/** The "Key images" series, made from its images' own series' listings. */
async function keyListing() {
  const uids = [...new Set(keyImages.images.map((image) => image.series_uid))];
  const listings = new Map();
  await Promise.all(uids.map((uid) => loadMetadata(uid).then((found) => listings.set(uid, found), () => {})));
  const series = keySeries(keyImages.images, listings, text.keyImages.title);
  // Under this window's name for it: a shared loader keeps each window's key images apart.
  loader.setSeries({ ...series, series_uid: keyLoaderUid() });
  return series;
}

function showKeyState() {
  const entry = active?.state.series?.instances[active.state.index];
  keyStrip?.showActive(Boolean(entry) && keyImages.isMine(entry));
}

/** Key images answered: marked on the images at once; the strip and Send once their modules are in. */
function showKeyImages(answer) {
  keyImages.receive(answer);
  viewports.forEach((v) => v.draw());
  if (viewports.some((v) => v.state.series?.series_uid === KEY_SERIES_UID)) {
    keyListing().then((fresh) => {
      if (fresh.instances.length) viewports.forEach((v) => v.updateSeries(fresh));
    }).catch(() => {});
  }
  // Not awaited: a mark saved after this must not wait for the strip's modules.
  showKeyStrip().catch((error) => console.warn(`key images: ${error.message}`));
}

/** The strip and Send key images, made with their modules once the first image is in. */
async function showKeyStrip() {
  await firstImage; // the strip's modules come after it, as later() fetches them
  const [{ KeyImagesStrip }, { SendKeyImagesDialog }] = await keyImageModules();
  keyStrip ??= new KeyImagesStrip(root, { text: text.keyImages, ...stripActions });
  sendKeys ??= new SendKeyImagesDialog({
    text: text.keyImages,
    nodes: fetchReceivingNodes,
    send: (nodeId) => sendKeyImages(studyUid, nodeId),
  });
  keyStrip.show(keyImages);
  sendKeys.enable(keyImages.mine.length > 0);
  showKeyState();
}

// Marks are saved one after another, each deciding from the answer before it.
let keySaving = Promise.resolve();
function toggleKey() {
  const viewport = active;
  const entry = viewport?.state.series?.instances[viewport.state.index];
  // Only the open study's own images: a prior's would go into the other study's KOS.
  if (!entry || entry.missing || mpr || studyOf(viewport.state.series.series_uid) !== studyUid) return;
  keySaving = keySaving
    .then(() => saveKeyImage(studyUid, entry.sop_instance_uid, entry.frame ?? 1, !keyImages.isMine(entry)))
    .then((answer) => {
      showKeyImages(answer); // the strip's module failing is told by showKeyStrip
      windows.keyImagesChanged(); // the study's other windows list them again
    })
    .catch((error) => {
      viewport.state.error = `${text.keyImages.notSaved}: ${error.message}`;
      viewport.draw();
    });
}
actions['key-image'] = toggleKey;
keys['*'] = 'key-image';
document.getElementById('key-image').addEventListener('click', toggleKey);
window.pacsweb.keyImages = keyImages;
fetchKeyImages(studyUid).then(showKeyImages).catch((error) => console.warn(`key images: ${error.message}`));
// Asked for now; offered in the viewports once the first image is drawn.
const presentationStates = fetchPresentationStates(studyUid).catch((error) => {
  console.warn(`presentation states: ${error.message}`);
  return [];
});
later(async () => {
  const { PresentationChoice } = await import('./shell/presentation.js');
  presentations = new PresentationChoice({ text: text.presentation });
  presentations.setStates(await presentationStates);
  viewports.forEach((v) => v.draw());
});

const initial = root.dataset.initialSeries;
if (initial && seriesUids.includes(initial)) {
  seriesUids.splice(seriesUids.indexOf(initial), 1);
  seriesUids.unshift(initial);
  setLayout('1x1');
} else if (hangings.length && query.get('protocol') !== 'none') {
  protocolSelect.value = '0';
  applyHanging(hangings[0]);
} else {
  setLayout('1x1');
}
// Keys work at once, without a click into the viewer first.
root.focus({ preventScroll: true });
// Then every series' listing, so the loader can fetch the whole study (the opener's
// loader, borrowed, is already at it).
if (!windows.host) loader.start();

// Priors: the patient's other studies, listed once this study has begun to load. None
// of a prior's images is asked for until the person opens it (its row, or Compare).
function priorLabel(seriesUid) {
  const prior = priorOf.get(seriesUid);
  if (!prior) return null;
  const date = prior.study_date || text.priors.noDate;
  // The prior's own patient name and ID (from its own data), not the current study's.
  return {
    prior: fill(text.priors.heading, { date }),
    study: `${date} ${prior.description || ''}`.trim(),
    patientName: prior.patient_name,
    patientId: prior.patient_id,
  };
}

// The current study's patient ID and issuer, from the same API as a prior's (asked once).
let ownPatient = null;
function currentPatient() {
  ownPatient ??= fetchStudyHangings(studyUid).catch((error) => {
    ownPatient = null;
    throw error;
  });
  return ownPatient;
}

const priorsPanel = new PriorsPanel(document.getElementById('series-strip'), {
  text: { ...text.priors, noDescription: text.noDescription },
  onOpen: async (prior) => {
    const [found, own] = await Promise.all([fetchStudyHangings(prior.study_uid), currentPatient()]);
    // Only ever the patient on screen: the same Patient ID and the same issuer (both
    // empty, or equal); a prior that does not say is refused too.
    if (!samePatient(found, own) || found.patient_id !== patient.id) throw new Error(text.priors.otherPatient);
    const labelled = { ...prior, patient_name: found.patient_name, patient_id: found.patient_id };
    for (const series of found.series) {
      priorOf.set(series.series_uid, labelled);
      priorSeries.set(series.series_uid, series);
      windows.lend(series.series_uid, prior.study_uid);
    }
    // The measurements drawn on this prior before (saved under it): drawn on its images
    // and listed as the prior's, as the open study's are.
    fetchMeasurements(prior.study_uid).then((measured) => {
      study.merge(measured);
      redrawMeasurements();
    }).catch((error) => console.warn(`measurements: ${error.message}`));
    return found.series;
  },
  onCompare: () => compareWithPrior(),
  onRetrieve: (prior) => {
    retrieveInNewTab(prior.retrieve_url);
    schedulePriors();
  },
  bindSeries: (button) => {
    button.addEventListener('dragstart', () => opening.takeOver());
    bindStripButton(button, stripActions);
  },
  thumbnail: (priorUid, seriesUid) => `/studies/${priorUid}/series/${seriesUid}/thumbnail.png`,
});

// While a prior is being retrieved its row is asked for again now and then.
let priorsTimer = null;
let priorsAsked = 0;
function schedulePriors(delay = 20000) {
  if (priorsTimer || priorsAsked > 15) return;
  priorsTimer = setTimeout(() => { priorsTimer = null; listPriors(); }, delay);
}
async function listPriors() {
  priorsAsked += 1;
  try {
    // The first asking starts the prefetch; the polls only refresh the list.
    const found = await fetchPriors(studyUid, { prefetch: priorsAsked === 1 });
    priorsPanel.show(found);
    // Each asking queries the nodes again: only while a retrieve is under way, slowly.
    if (found.priors.some((p) => p.retrieving)) schedulePriors();
  } catch (error) {
    priorsPanel.failed(error.message);
  }
}

/**
 * Hang a mammography study's views beside the prior's same views (math/mammo.js): a 2x4,
 * the current pairs on the left half; on a phone the first view beside its prior.
 * @returns {Promise<boolean>} whether it was hung
 */
async function compareMammo(prior, section) {
  // All four slots, an empty one too: dropping it would shift every later view into
  // the wrong breast's column (math/mammo.besidePrior keeps each in its place).
  const current = hung.hanging.viewports.slice(0, 4).map((v) => v || null);
  const uids = [...section.querySelectorAll('button[data-series-uid]')].map((b) => b.dataset.seriesUid)
    .filter((uid) => priorSeries.get(uid)?.modality === 'MG');
  // Listings only (no images): each view's side and view.
  const [listings, ours] = await Promise.all([
    Promise.all(uids.map((uid) => fetchSeriesMetadata(prior.study_uid, uid).catch(() => null))),
    Promise.all(current.map((v) => (v?.series_uid ? loadMetadata(v.series_uid).catch(() => null) : null))),
  ]);
  // Each slot's view: its image's, or the one the hanging looked for in vain (the
  // prior's image of that view still goes beside the empty slot).
  const wanted = current.map((v, i) => (v?.series_uid && (ours[i]?.instances.find((e) => e.sop_instance_uid === v.sop_instance_uid)
    || ours[i]?.instances[0])) || v?.missing || null);
  const { layout, viewports: grid } = besidePrior(current, priorViews(wanted, listings.filter(Boolean)), wanted);
  if (toolbar.narrow) toolbar.showStrip(false);
  setLayout(toolbar.narrow ? '1x2' : layout, toolbar.narrow ? [grid[0], grid[2]] : grid);
  hung = null;
  showPager();
  return true;
}

/**
 * Hang the current study beside its most recent comparable prior (1x2, current left;
 * on a phone 2x1, current above), the prior's series that best matches the active one
 * (math/priors.matchSeries), and link their scrolling by slice position.
 * @returns {Promise<boolean>} whether it was hung
 */
async function compareWithPrior() {
  const prior = comparePrior(priorsPanel.priors);
  if (!prior) return false;
  opening.takeOver();
  const section = await priorsPanel.open(prior.study_uid);
  if (!section) return false;
  // Mammograms: the four views beside the prior's four, chest walls facing.
  if (hung?.viewports.some((v) => v.chest_wall)) return compareMammo(prior, section);
  const activeUid = active?.state.series?.series_uid;
  const currentUid = activeUid && !priorOf.has(activeUid) ? activeUid : seriesUids[0];
  const current = await loadMetadata(currentUid);
  const entries = [...section.querySelectorAll('button[data-series-uid]')]
    .map((button) => priorSeries.get(button.dataset.seriesUid)).filter(Boolean);
  // Listings only (no images) of the prior's series of the same modality, for their
  // orientation; the loader hears only of the one chosen.
  const candidates = await Promise.all(entries.map(async (entry) => {
    if (entry.modality !== current.modality) return entry;
    const listing = await fetchSeriesMetadata(prior.study_uid, entry.series_uid).catch(() => null);
    return {
      ...entry, orientation: listing?.instances[0]?.orientation || null, count: listing?.instances.length ?? entry.total,
    };
  }));
  const chosen = matchSeries({
    modality: current.modality,
    description: current.description,
    orientation: current.instances[0]?.orientation || null,
    count: current.instances.length,
  }, candidates);
  if (!chosen) {
    active.state.error = text.priors.noMatch;
    active.draw();
    return false;
  }
  if (toolbar.narrow) toolbar.showStrip(false);
  setLayout(toolbar.narrow ? '2x1' : '1x2', [{ series_uid: currentUid }, { series_uid: chosen.series_uid }]);
  hung = null;
  showPager();
  linked = true;
  document.getElementById('link').setAttribute('aria-pressed', 'true');
  // Both open before the prior is turned to the current's slice.
  const [left, right] = viewports;
  await Promise.all([openIn(left, currentUid), openIn(right, chosen.series_uid)]);
  activate(left);
  showLinkNotes();
  syncLinked();
  return true;
}
// A window opened to read a prior (shell/windows.js) opens it once the priors are listed.
listPriors().then(async () => {
  const [prior, series] = [query.get('prior'), query.get('prior_series')];
  if (prior && series && await priorsPanel.open(prior).catch(() => null)) openIn(active, series);
});
