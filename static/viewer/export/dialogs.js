/**
 * The "Save PNG" and "Print" dialogs of the viewer's toolbar: what to export, then
 * the download. Composition is in export.js, the decisions in tools/export.js.
 * @module export/dialogs
 */
import { mprFilmItems, mprPanePng, saveBlob, viewportPng } from './png.js';
import { reportExport } from '../io/exports.js';
import { requestFilm } from '../io/film.js';
import {
  everyNth, exportReport, FILM_LAYOUTS, filmItem, MAX_FILM_IMAGES, mprFilmLayout, pageCount,
  parseFilmLayout, pngFileName, stepForOnePage,
} from '../tools/export.js';

const $ = (id) => document.getElementById(id);

/** Fill in a message like "%(images)s images on %(pages)s pages". */
function fill(template, values) {
  return Object.entries(values).reduce((text, [key, value]) => text.replaceAll(`%(${key})s`, String(value)), template);
}

/**
 * Wire both dialogs to the toolbar.
 * @param {{studyUid: string, text: object, active: () => object,
 *   viewports: () => object[], layout: () => string, mpr: () => object | null}} options
 *   ``mpr``: the MPR view while it is on screen
 */
export function bindExport({ studyUid, text, active, viewports, layout, mpr }) {
  bindPng(studyUid, text, active, mpr);
  bindPrint(studyUid, text, active, viewports, layout, mpr);
}

/** The viewport as a PNG, its file name and its report; null when it shows no image. */
async function viewportExport(viewport, burnIn) {
  const { series, index, frame } = viewport?.state || {};
  if (!frame || !viewport.canvas.getBoundingClientRect().width) return null;
  const blob = await viewportPng(viewport, { burnIn });
  const report = exportReport({
    sopInstanceUid: series.instances?.[index]?.sop_instance_uid, annotated: viewport.svg?.childElementCount > 0, burnIn,
  });
  return { blob, report, fileName: pngFileName({ modality: series.modality, seriesNumber: series.number, imageNumber: index + 1 }) };
}

/** The active MPR pane as a PNG, its file name and its report; null when MPR is not ready. */
async function mprExport(view, burnIn) {
  if (!view?.state.ready) return null;
  const name = view.state.active;
  const { series } = view.options;
  const blob = await mprPanePng(view, name, { burnIn });
  const annotated = view.panes.get(name)?.querySelector('svg')?.childElementCount > 0;
  const report = exportReport({ seriesUid: series.series_uid, annotated, burnIn });
  return { blob, report, fileName: pngFileName({ modality: series.modality, seriesNumber: series.number, imageNumber: name }) };
}

function bindPng(studyUid, text, active, mpr) {
  const dialog = $('png-dialog');
  const error = $('png-error');
  $('export-png').addEventListener('click', () => {
    error.textContent = '';
    // Patient data is burnt in only when asked for each time, never by habit.
    $('png-burn-in').checked = false;
    dialog.showModal();
  });
  $('png-save').addEventListener('click', async () => {
    const burnIn = $('png-burn-in').checked;
    try {
      // With MPR on screen, the pane the person works in; else the active viewport.
      // A reduced preview is never saved as if it were the image.
      if (!mpr() && active()?.reducedBy?.() > 1) {
        error.textContent = text.previewNotExported;
        return;
      }
      const exported = mpr() ? await mprExport(mpr(), burnIn) : await viewportExport(active(), burnIn);
      if (!exported) {
        error.textContent = text.noImageToExport;
        return;
      }
      // The trail is told as the file is handed over; the save does not wait for it.
      reportExport(studyUid, exported.report);
      saveBlob(exported.blob, exported.fileName);
      dialog.close();
    } catch (failure) {
      error.textContent = `${text.exportFailed}: ${failure.message}`;
    }
  });
}

/**
 * What a print would send, from the dialog's choices: how many images, and a
 * function that makes the request's items (MPR panes are rendered only then).
 */
function chosen(active, viewports, mpr) {
  const stored = (items) => ({ count: items.length, items: async () => items });
  if ($('film-source-series').checked) {
    const viewport = active();
    const { series, view, frame } = viewport?.state || {};
    if (!series || !frame) return stored([]);
    return stored(everyNth(series.instances, Number($('film-step').value))
      .map((entry) => filmItem(entry, view, frame, viewport.printed(entry))));
  }
  const view = mpr();
  if (view) {
    // MPR stands in for the grid on screen: its panes shown are "the viewports on
    // screen", none while the volume is still being built.
    const panes = view.state.ready ? view.shownPanes() : [];
    return { count: panes.length, items: () => mprFilmItems(view, panes) };
  }
  return stored(viewports()
    .filter((v) => v.state.frame && v.state.series?.instances[v.state.index])
    .map((v) => {
      const entry = v.state.series.instances[v.state.index];
      return filmItem(entry, v.state.view, v.state.frame, v.printed(entry));
    }));
}

function bindPrint(studyUid, text, active, viewports, layout, mpr) {
  const dialog = $('print-dialog');
  const select = $('film-layout');
  const error = $('film-error');
  const button = $('film-print');
  const setLayout = (value) => {
    if (![...select.options].some((o) => o.value === value)) select.append(new Option(value.replace('x', ' × '), value));
    select.value = value;
  };
  select.replaceChildren(...FILM_LAYOUTS.map((name) => new Option(name.replace('x', ' × '), name)));
  const summarise = () => {
    const series = $('film-source-series').checked;
    $('film-step-row').hidden = !series;
    const { count } = chosen(active, viewports, mpr);
    const pages = pageCount(count, parseFilmLayout(select.value));
    const tooMany = count > MAX_FILM_IMAGES;
    $('film-summary').textContent = tooMany
      ? fill(text.filmTooMany, { images: count, max: MAX_FILM_IMAGES })
      : fill(text.filmSummary, { images: count, pages });
    button.disabled = tooMany || count === 0;
  };
  const stepForLayout = () => {
    const { rows, columns } = parseFilmLayout(select.value);
    $('film-step').value = String(stepForOnePage(active()?.state.series?.instances.length || 1, rows * columns));
  };
  // The grid (or the MPR panes) on screen is the natural film for "viewports".
  const screenLayout = () => (mpr() ? mprFilmLayout(chosen(active, viewports, mpr).count) : layout() || '1x1');
  $('print-film').addEventListener('click', () => {
    error.textContent = '';
    // A series gets a 4 x 4 sheet.
    setLayout($('film-source-series').checked ? '4x4' : screenLayout());
    stepForLayout();
    summarise();
    dialog.showModal();
  });
  for (const radio of document.querySelectorAll('input[name="film-source"]')) {
    radio.addEventListener('change', () => {
      setLayout(radio.value === 'series' ? '4x4' : screenLayout());
      stepForLayout();
      summarise();
    });
  }
  select.addEventListener('change', () => {
    if ($('film-source-series').checked) stepForLayout();
    summarise();
  });
  $('film-step').addEventListener('input', summarise);
  button.addEventListener('click', async () => {
    error.textContent = '';
    // A film takes its window and labels from the viewports: never from a preview's.
    if (!mpr() && viewports().some((viewport) => viewport.reducedBy?.() > 1)) {
      error.textContent = text.previewNotExported;
      return;
    }
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    try {
      const { blob, fileName } = await requestFilm(studyUid, {
        layout: select.value,
        paper: $('film-paper').value,
        orientation: $('film-orientation').value,
        items: await chosen(active, viewports, mpr).items(),
      });
      saveBlob(blob, fileName);
      dialog.close();
    } catch (failure) {
      error.textContent = `${text.printFailed}: ${failure.message}`;
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  });
}
