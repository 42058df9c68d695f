import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sendWords } from '../../../static/viewer/shell/send-key-images.js';

const text = {
  sent: ['%(n)s Schlüsselbild an %(node)s gesendet', '%(n)s Schlüsselbilder an %(node)s gesendet'],
  notSent: 'Nicht an %(node)s gesendet: %(reason)s',
};

test('it says how many key images went to which node', () => {
  assert.equal(sendWords({ ok: true, answer: { images: 1, node: 'PACS' } }, 'PACS', text),
    '1 Schlüsselbild an PACS gesendet');
  assert.equal(sendWords({ ok: true, answer: { images: 3, node: 'PACS' } }, 'PACS', text),
    '3 Schlüsselbilder an PACS gesendet');
});

test('it names the node as the server does, else as chosen', () => {
  assert.equal(sendWords({ ok: true, answer: { images: 2 } }, 'Archiv', text),
    '2 Schlüsselbilder an Archiv gesendet');
});

test('it gives the reason the node refused or could not be reached', () => {
  const reason = 'The node did not take the document: connection refused by 10.0.0.9:104';
  assert.equal(sendWords({ ok: false, reason }, 'PACS', text), `Nicht an PACS gesendet: ${reason}`);
});

test('it still says something without translations', () => {
  assert.equal(sendWords({ ok: true, answer: { images: 2, node: 'PACS' } }, 'PACS', {}),
    'Sent 2 key images to PACS');
  assert.equal(sendWords({ ok: false, reason: 'nothing to send' }, 'PACS', {}),
    'Not sent to PACS: nothing to send');
});
