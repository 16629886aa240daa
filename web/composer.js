// The built-in face's composer: the message box that grows with its text, the tray of attachments above it
// (attachments.js), `@` references to other conversations in it (references.js), the paperclip, `@` button
// and model picker, and the Send button that becomes Stop while an answer streams. Enter sends, Shift+Enter
// starts a new line; a message may be text, attachments, or both.

import { api } from './client.js';
import { h, icon, toast } from './dom.js';
import { createAttachments } from './attachments.js';
import { createReferences } from './references.js';
import { PLACEHOLDER } from './starters.js';

const SEND = 'Send';
const WAITING = 'Sending when the uploads finish';

/**
 * `canSend()` says whether a message may go now; `onSend(content, attachments)` sends it (`content` is the
 * message's parts: its text, with a tag for each conversation it references; `attachments` are the uploaded
 * attachments, as the server describes them); `onStop()` stops the answer.
 */
export function createComposer({ canSend, onSend, onStop }) {
  const textarea = h('textarea', { rows: 1, placeholder: PLACEHOLDER, 'aria-label': 'Message', class: 'composer-input' });
  const picker = h('select', { class: 'model-picker', 'aria-label': 'Model' });
  const sendButton = h('button', { type: 'button', class: 'round-button send', 'aria-label': SEND, disabled: true,
    onclick: () => sendFromComposer() }, icon('send'));
  const stopButton = h('button', { type: 'button', class: 'round-button stop', 'aria-label': 'Stop', hidden: true,
    onclick: () => onStop() }, icon('stop'));
  const attachments = createAttachments({ onChange: () => updateSend(), onEmptied: () => textarea.focus() });
  const references = createReferences({ textarea });
  const element = h('div', { class: 'composer' }, attachments.tray, references.field, references.popup,
    h('div', { class: 'composer-bar' }, attachments.button, attachments.input, references.button, picker,
      h('span', { class: 'spacer' }), sendButton, stopButton));
  let waiting = false; // Send was pressed while files were still uploading

  function updateSend() {
    sendButton.disabled = waiting || !(textarea.value.trim() || attachments.count());
  }

  function autosize() {
    textarea.style.height = 'auto';
    textarea.style.height = `${Math.min(textarea.scrollHeight, 220)}px`;
    updateSend();
  }
  textarea.addEventListener('input', () => {
    autosize();
    references.sync();
  });
  // The popup of conversations follows the caret too, not only the text.
  const CARET_KEYS = new Set(['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Home', 'End', 'PageUp', 'PageDown']);
  textarea.addEventListener('keyup', (event) => CARET_KEYS.has(event.key) && references.sync());
  textarea.addEventListener('click', () => references.sync());
  textarea.addEventListener('keydown', (event) => {
    if (references.onKeydown(event)) return; // the popup's keys, and Backspace on a reference
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendFromComposer();
    }
  });
  // A pasted picture (a screenshot, a copied image) is attached. When the clipboard holds text as well, the
  // text is what was meant: office programs put a picture of the copied cells beside the text.
  textarea.addEventListener('paste', (event) => {
    const data = event.clipboardData;
    const files = [...(data?.files || [])];
    if (!files.length || data.types.includes('text/plain')) return;
    event.preventDefault();
    attachments.add(files);
  });

  function setWaiting(on) {
    waiting = on;
    textarea.readOnly = on;
    element.classList.toggle('waiting', on);
    sendButton.setAttribute('aria-label', on ? WAITING : SEND);
    if (on) sendButton.title = `${WAITING}…`;
    else sendButton.removeAttribute('title');
    updateSend();
  }

  // Send waits for the uploads under way; a file that fails is dropped from the message with its sentence.
  async function sendFromComposer() {
    if (waiting || !canSend() || !(textarea.value.trim() || attachments.count())) return;
    if (attachments.busy()) {
      setWaiting(true);
      while (attachments.busy()) await attachments.settled();
      setWaiting(false);
      if (!canSend() || !(textarea.value.trim() || attachments.count())) return;
    }
    const content = references.content();
    const files = attachments.take();
    textarea.value = '';
    references.clear();
    autosize();
    onSend(content, files);
  }

  // The choice survives a reload of the list (after Settings change) while the model is still offered.
  async function loadModels() {
    try {
      const { models } = await api('/api/models');
      const previous = picker.value;
      picker.replaceChildren(...models.map((m) => h('option', { value: m.id, title: m.id }, m.label)));
      const keep = models.find((m) => m.id === previous);
      picker.value = keep ? previous : (models.find((m) => m.default) || models[0])?.id || '';
      picker.hidden = !models.length;
    } catch (error) {
      toast(error.message);
    }
  }

  return {
    element,
    loadModels,
    loadLimits: () => attachments.loadLimits(),
    /** Attach files (dropped on the conversation). */
    attach: (files) => attachments.add(files),
    /** The model picked for the next message, or '' for the server's default. */
    model: () => picker.value,
    setStreaming(on) {
      sendButton.hidden = on;
      stopButton.hidden = !on;
    },
    fill(text) {
      textarea.value = text;
      autosize();
      references.sync();
      textarea.focus();
    },
    focus: () => textarea.focus(),
  };
}
