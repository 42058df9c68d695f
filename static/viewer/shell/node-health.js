/**
 * "PACS unreachable since 10:42 — retrying in 8 s": what the viewer says while the
 * retrieve job waits for its node, from the live ``job`` messages' ``node`` part.
 * ``nodeNotice`` is pure; ``NodeHealthNotice`` puts it on the page and counts down.
 * @module shell/node-health
 */

const FALLBACK = {
  nodeUnreachable: 'PACS unreachable since %(since)s — retrying in %(seconds)s s',
  nodeRetrying: 'PACS unreachable since %(since)s — retrying now',
};

/**
 * What a waiting job shows: the node's outage and the seconds to its next probe.
 * @param {{since: string, retryAt: number}|null} outage since: ISO time; retryAt: ms epoch
 * @param {number} now ms since the epoch
 * @param {{nodeUnreachable?: string, nodeRetrying?: string}} text translated patterns
 * @param {(date: Date) => string} [clock] the time of day as the person reads it
 * @returns {string} empty when the node answers
 */
export function nodeNotice(outage, now, text, clock = hoursMinutes) {
  if (!outage) return '';
  const since = clock(new Date(outage.since));
  const seconds = Math.ceil((outage.retryAt - now) / 1000);
  const pattern = seconds > 0
    ? text.nodeUnreachable || FALLBACK.nodeUnreachable
    : text.nodeRetrying || FALLBACK.nodeRetrying;
  return pattern.replace('%(since)s', since).replace('%(seconds)s', String(seconds));
}

/**
 * The outage a live message tells of: a new one, null once it has ended, or
 * ``undefined`` when the message says nothing about the node.
 * @param {object} message a live message
 * @param {number} now ms since the epoch
 * @returns {{since: string, retryAt: number}|null|undefined}
 */
export function outageFrom(message, now) {
  if (message.type !== 'job') return undefined;
  if (message.state !== 'running') return null; // ended: nothing more to wait for
  const node = message.node;
  if (!node) return undefined;
  if (node.state !== 'unreachable') return null;
  return { since: node.since, retryAt: now + 1000 * (Number(node.retry_in) || 0) };
}

/**
 * The words of a job message that puts the job back in the queue (its worker gave way
 * to a more urgent retrieve, or stopped), or undefined for any other message.
 * @param {object} message a live message
 * @returns {string|undefined}
 */
export function waitingWords(message) {
  if (message.type !== 'job' || message.state !== 'queued') return undefined;
  return message.error || '';
}

/** @param {Date} date */
function hoursMinutes(date) {
  return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export class NodeHealthNotice {
  /**
   * @param {HTMLElement} after the notice goes right after this element
   * @param {object} text the viewer's translated strings
   */
  constructor(after, text) {
    this.text = text;
    this.outage = null;
    this.timer = null;
    this.element = document.createElement('span');
    this.element.className = 'node-health';
    this.element.setAttribute('role', 'status');
    this.element.hidden = true;
    after.insertAdjacentElement('afterend', this.element);
  }

  /** Take a live message; a snapshot of a running job shows the job's own words. */
  receive(message) {
    if (message.type === 'snapshot') {
      const job = message.job;
      this.show(null, job && job.state === 'running' ? job.error || '' : '');
      return;
    }
    const words = waitingWords(message);
    if (words !== undefined) {
      this.show(null, words);
      return;
    }
    const outage = outageFrom(message, Date.now());
    if (outage !== undefined) this.show(outage);
  }

  /** @param {{since: string, retryAt: number}|null} outage @param {string} [words] */
  show(outage, words = '') {
    this.outage = outage;
    clearInterval(this.timer);
    this.timer = outage ? setInterval(() => this.render(), 1000) : null;
    this.words = words;
    this.render();
  }

  render() {
    const shown = this.outage ? nodeNotice(this.outage, Date.now(), this.text) : this.words;
    this.element.textContent = shown;
    this.element.hidden = !shown;
  }
}
