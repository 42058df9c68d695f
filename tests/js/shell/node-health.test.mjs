import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeNotice, outageFrom, waitingWords } from '../../../static/viewer/shell/node-health.js';

const clock = (date) => date.toISOString().slice(11, 16);
const text = {
  nodeUnreachable: 'PACS 自 %(since)s 起无法连接 — %(seconds)s 秒后重试',
  nodeRetrying: 'PACS 自 %(since)s 起无法连接 — 正在重试',
};
const since = '2026-01-05T10:42:00+00:00';

test('it says since when the node is down and counts down to the next probe', () => {
  const outage = { since, retryAt: 10_000 };
  assert.equal(
    nodeNotice(outage, 2_000, {}, clock),
    'PACS unreachable since 10:42 — retrying in 8 s',
  );
  assert.equal(nodeNotice(outage, 9_500, {}, clock), 'PACS unreachable since 10:42 — retrying in 1 s');
  assert.equal(nodeNotice(outage, 10_000, {}, clock), 'PACS unreachable since 10:42 — retrying now');
});

test('it uses the translated patterns when the page has them', () => {
  assert.equal(nodeNotice({ since, retryAt: 5_000 }, 0, text, clock), 'PACS 自 10:42 起无法连接 — 5 秒后重试');
});

test('it shows nothing while the node answers', () => {
  assert.equal(nodeNotice(null, 0, text, clock), '');
});

test('a job message with an unreachable node starts an outage; reachable or an end stops it', () => {
  const down = { type: 'job', state: 'running', node: { state: 'unreachable', since, retry_in: 8 } };
  assert.deepEqual(outageFrom(down, 1_000), { since, retryAt: 9_000 });
  assert.equal(outageFrom({ type: 'job', state: 'running', node: { state: 'reachable' } }, 0), null);
  assert.equal(outageFrom({ type: 'job', state: 'done', error: '' }, 0), null);
});

test('messages that say nothing about the node leave the notice as it is', () => {
  assert.equal(outageFrom({ type: 'progress', series: '1.2', done: 1, total: 2 }, 0), undefined);
  assert.equal(outageFrom({ type: 'job', state: 'running', error: '' }, 0), undefined);
});

test('a job put back in the queue shows its words; other messages are not its business', () => {
  const queued = { type: 'job', state: 'queued', error: 'waiting while a more urgent retrieve runs' };
  assert.equal(waitingWords(queued), 'waiting while a more urgent retrieve runs');
  assert.equal(waitingWords({ type: 'job', state: 'queued' }), '');
  assert.equal(waitingWords({ type: 'job', state: 'running', error: 'x' }), undefined);
  assert.equal(waitingWords({ type: 'progress', series: 'a' }), undefined);
});
