/**
 * "Send key images…": the person's own key images (their KOS) sent to a node they
 * choose, and what came of it in words. ``sendWords`` is pure; ``SendKeyImagesDialog``
 * is the toolbar button and its dialog.
 * @module shell/send-key-images
 */

const FALLBACK = {
  sent: ['Sent %(n)s key image to %(node)s', 'Sent %(n)s key images to %(node)s'],
  notSent: 'Not sent to %(node)s: %(reason)s',
};

/**
 * What a send came to, for people.
 * @param {{ok: boolean, answer?: {images: number, node?: string}, reason?: string}} outcome
 *   ``answer``: the API's on success; ``reason``: its ``detail`` (or the network's error)
 * @param {string} node the name of the node chosen
 * @param {{sent?: string[], notSent?: string}} text translated patterns ([one, many] for sent)
 * @returns {string}
 */
export function sendWords(outcome, node, text) {
  if (outcome.ok) {
    const n = outcome.answer.images;
    const [one, many] = text.sent || FALLBACK.sent;
    return (n === 1 ? one : many).replace('%(n)s', () => String(n)).replace('%(node)s', () => outcome.answer.node || node);
  }
  return (text.notSent || FALLBACK.notSent).replace('%(node)s', () => node).replace('%(reason)s', () => outcome.reason);
}

export class SendKeyImagesDialog {
  /**
   * @param {{text: object, nodes: () => Promise<Array<{id: number, name: string,
   *   address: string}>>, send: (nodeId: number) => Promise<object>}} options
   *   ``text``: viewer_text.keyImages; ``send`` rejects with the API's detail as message
   */
  constructor({ text, nodes, send }) {
    const $ = (id) => document.getElementById(id);
    this.text = text;
    this.button = $('send-key-images');
    this.dialog = $('send-key-dialog');
    this.select = $('send-key-node');
    this.status = $('send-key-status');
    this.error = $('send-key-error');
    this.sendButton = $('send-key-send');
    this.nodes = nodes;
    this.send = send;
    this.button.addEventListener('click', () => this.open());
    this.sendButton.addEventListener('click', () => this.submit());
  }

  /** Usable only while the person has key images of their own in the study. */
  enable(mine) {
    this.button.disabled = !mine;
    this.button.title = mine ? this.text.send : `${this.text.send} (${this.text.noneToSend})`;
  }

  async open() {
    if (this.button.disabled) return;
    this.say('', '');
    this.select.replaceChildren();
    this.sendButton.disabled = true;
    this.dialog.showModal();
    let found;
    try {
      found = await this.nodes();
    } catch (failure) {
      this.say('', `${this.text.nodesFailed}: ${failure.message}`);
      return;
    }
    for (const node of found) {
      const option = document.createElement('option');
      option.value = String(node.id);
      // The address is for staff (the API gives it to them only); others see the name.
      option.textContent = node.address ? `${node.name} (${node.address})` : node.name;
      option.dataset.name = node.name;
      this.select.append(option);
    }
    if (!found.length) this.say('', this.text.noNodes);
    this.sendButton.disabled = !found.length;
    this.select.focus();
  }

  async submit() {
    const option = this.select.selectedOptions[0];
    if (!option || this.sendButton.disabled) return;
    const node = option.dataset.name;
    this.sendButton.disabled = true;
    this.say(this.text.sending.replace('%(node)s', () => node), '');
    try {
      const answer = await this.send(Number(option.value));
      this.say(sendWords({ ok: true, answer }, node, this.text), '');
    } catch (failure) {
      this.say('', sendWords({ ok: false, reason: failure.message }, node, this.text));
    } finally {
      this.sendButton.disabled = false;
    }
  }

  /** The outcome: a success in the status line, a failure in the alert. */
  say(status, error) {
    this.status.textContent = status;
    this.error.textContent = error;
  }
}
