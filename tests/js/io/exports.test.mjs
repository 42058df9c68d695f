import assert from 'node:assert/strict';
import { test } from 'node:test';

import { reportExport } from '../../../static/viewer/io/exports.js';

test('it posts the report to the study’s exports endpoint', async () => {
  const sent = [];
  const send = async (url, method, body) => { sent.push([url, method, body]); return {}; };
  assert.equal(await reportExport('1.2.3', { format: 'png' }, send), true);
  assert.deepEqual(sent, [['/api/studies/1.2.3/exports/', 'POST', { format: 'png' }]]);
});

test('a report the server refuses or never gets does not fail the save', async () => {
  assert.equal(await reportExport('1.2.3', {}, async () => { throw new Error('400'); }), false);
  assert.equal(await reportExport('1.2.3', {}, () => { throw new Error('offline'); }), false);
});
