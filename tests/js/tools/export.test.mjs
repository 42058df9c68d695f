import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  everyNth, exportedOverlays, exportReport, fileNameFromDisposition, filmItem, FILM_LAYOUTS, FILM_PANE_OVERLAYS,
  MAX_FILM_CAPTION, MAX_FILM_IMAGES, mprFilmCaption, mprFilmLayout, pageCount, parseFilmLayout,
  pngFileName, stepForOnePage,
} from '../../../static/viewer/tools/export.js';

test('without burn-in only the orientation and the window go onto the image', () => {
  assert.deepEqual(exportedOverlays(false).sort(), ['bottom', 'calibration', 'left', 'plane', 'right', 'slab', 'top', 'window', 'zoom']);
});

test('burn-in adds the patient, the study, the series and the image', () => {
  const chosen = exportedOverlays(true);
  for (const name of ['patient-name', 'patient-id', 'study', 'series', 'image']) {
    assert.ok(chosen.includes(name), name);
  }
  assert.ok(exportedOverlays(true).length > exportedOverlays(false).length);
});

test('the PNG file name names the modality, series and image, nothing about the patient', () => {
  assert.equal(pngFileName({ modality: 'CT', seriesNumber: 3, imageNumber: 12 }), 'pacsweb-CT-3-12.png');
  assert.equal(pngFileName({ modality: '', seriesNumber: null, imageNumber: 1 }), 'pacsweb-image-x-1.png');
  // Whatever a header holds cannot make a path or odd characters.
  assert.equal(pngFileName({ modality: '../C T', seriesNumber: '1/2', imageNumber: 4 }), 'pacsweb-CT-12-4.png');
});

test('a film item carries the frame, the window and the inversion the person chose', () => {
  const entry = { sop_instance_uid: '1.2.3', frame: 2 };
  const grey = { samples: 1, photometric: 'MONOCHROME2' };
  assert.deepEqual(filmItem(entry, { center: 40, width: 400, invert: false }, grey), {
    sop_instance_uid: '1.2.3', frame: 2, invert: false, window_center: 40, window_width: 400,
  });
  assert.equal(filmItem(entry, { center: 40, width: 400, invert: true }, grey).invert, true);
});

test('MONOCHROME1 shown as the viewer starts it is not inverted again on film', () => {
  const entry = { sop_instance_uid: '1.2.3', frame: 1 };
  const mono1 = { samples: 1, photometric: 'MONOCHROME1' };
  assert.equal(filmItem(entry, { center: 0, width: 10, invert: true }, mono1).invert, false);
  assert.equal(filmItem(entry, { center: 0, width: 10, invert: false }, mono1).invert, true);
});

test('a film item is turned, mirrored and marked as the viewport shows it', () => {
  const entry = { sop_instance_uid: '1.2.3', frame: 1 };
  const grey = { samples: 1, photometric: 'MONOCHROME2' };
  const view = { center: 40, width: 400, invert: false };
  const marks = [{ kind: 'length', points: [[1, 2], [3, 4]], text: '2.8 mm' }];
  const item = filmItem(entry, view, grey, { rotation: 270, flipH: true, flipV: false, marks });
  assert.equal(item.rotation, 270);
  assert.equal(item.flip_h, true);
  assert.equal('flip_v' in item, false);
  assert.deepEqual(item.marks, marks);
  // As it comes from the file: nothing to say.
  const plain = filmItem(entry, view, grey, { rotation: 0, flipH: false, flipV: false, marks: [] });
  assert.deepEqual(Object.keys(plain).sort(), ['frame', 'invert', 'sop_instance_uid', 'window_center', 'window_width']);
});

test('colour images print without a window', () => {
  const item = filmItem({ sop_instance_uid: '9', frame: 1 }, { center: 1, width: 2, invert: false },
    { samples: 3, photometric: 'RGB' });
  assert.equal('window_center' in item, false);
});

test('every n-th image starts at the first and skips images not here yet', () => {
  const stack = Array.from({ length: 10 }, (_, i) => ({ i, missing: i === 4 }));
  assert.deepEqual(everyNth(stack, 2).map((e) => e.i), [0, 2, 6, 8]);
  assert.deepEqual(everyNth(stack, 0).length, 9);
});

test('the default step puts the whole series on one page', () => {
  assert.equal(stepForOnePage(300, 16), 19);
  assert.ok(Math.ceil(300 / stepForOnePage(300, 16)) <= 16);
  assert.equal(stepForOnePage(5, 16), 1);
});

test('film layouts go up to 6 x 6', () => {
  assert.deepEqual(parseFilmLayout('5x6'), { rows: 5, columns: 6 });
  assert.equal(parseFilmLayout('7x1'), null);
  assert.equal(parseFilmLayout('2 by 2'), null);
  assert.ok(FILM_LAYOUTS.every((text) => parseFilmLayout(text)));
  assert.equal(pageCount(17, { rows: 4, columns: 4 }), 2);
  assert.equal(MAX_FILM_IMAGES, 64);
});

test('the download keeps the server file name, without any path', () => {
  assert.equal(fileNameFromDisposition('attachment; filename="pacsweb-film-1.pdf"', 'x.pdf'), 'pacsweb-film-1.pdf');
  assert.equal(fileNameFromDisposition('attachment; filename="../a/b.pdf"', 'x.pdf'), '..ab.pdf');
  assert.equal(fileNameFromDisposition(null, 'x.pdf'), 'x.pdf');
});

test('an MPR pane on film carries its orientation markers and nothing about the patient', () => {
  assert.deepEqual([...FILM_PANE_OVERLAYS].sort(), ['bottom', 'left', 'right', 'top']);
  for (const name of exportedOverlays(true).filter((n) => !exportedOverlays(false).includes(n))) {
    assert.ok(!FILM_PANE_OVERLAYS.includes(name), name);
  }
});

test('an MPR pane is captioned with its plane, slab and window, skipping empty texts', () => {
  assert.equal(mprFilmCaption(['Coronal', 'MIP 10 mm', 'W 400 L 40']), 'Coronal · MIP 10 mm · W 400 L 40');
  assert.equal(mprFilmCaption(['Oblique 30° / 0°', '', ' W 400\nL 40 ']), 'Oblique 30° / 0° · W 400 L 40');
  assert.equal(mprFilmCaption(['x'.repeat(200)]).length, MAX_FILM_CAPTION);
});

test('MPR prints two by two, or one pane alone when it is maximised', () => {
  assert.equal(mprFilmLayout(4), '2x2');
  assert.equal(mprFilmLayout(1), '1x1');
});

test('a saved PNG is reported with its image, its annotations and whether patient data is on it', () => {
  assert.deepEqual(exportReport({ sopInstanceUid: '1.2.3', annotated: true, burnIn: false }), {
    format: 'png', annotated: true, patient_data_burnt_in: false, sop_instance_uid: '1.2.3', series_uid: null,
  });
  // An MPR pane is no stored image: the series it was reformatted from stands in.
  const pane = exportReport({ seriesUid: '1.2.4', annotated: false, burnIn: true });
  assert.equal(pane.sop_instance_uid, null);
  assert.equal(pane.series_uid, '1.2.4');
  assert.equal(pane.patient_data_burnt_in, true);
});
