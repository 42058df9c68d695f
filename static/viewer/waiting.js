/**
 * The page of a study whose first images are still on their way: open the viewer as
 * soon as one has arrived.
 * @module waiting
 */
import { LiveStudy } from './io/live.js';

const page = document.getElementById('waiting');
const state = document.getElementById('live-state');
const live = new LiveStudy(page.dataset.studyUid, {
  onState: (value) => { state.dataset.state = value; },
  onMessage: (message) => {
    const arrived = (message.type === 'progress' && message.done > 0)
      || (message.type === 'snapshot' && (message.series || []).some((s) => s.done > 0));
    // Queued again (its worker gave way) is not an end: keep waiting.
    const ended = message.type === 'job' && !['running', 'queued'].includes(message.state);
    if (arrived || ended) {
      live.close();
      window.location.reload();
    }
  },
});
