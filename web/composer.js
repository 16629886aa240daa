// The built-in face's composer: the message box that grows with its text, the model picker, and the Send
// button that becomes Stop while an answer streams. Enter sends, Shift+Enter starts a new line.

import { api } from './client.js';
import { h, icon, toast } from './dom.js';
import { PLACEHOLDER } from './starters.js';

/** `canSend()` says whether a message may go now; `onSend(text)` sends it; `onStop()` stops the answer. */
export function createComposer({ canSend, onSend, onStop }) {
  const textarea = h('textarea', { rows: 1, placeholder: PLACEHOLDER, 'aria-label': 'Message', class: 'composer-input' });
  const picker = h('select', { class: 'model-picker', 'aria-label': 'Model' });
  const sendButton = h('button', { type: 'button', class: 'round-button send', 'aria-label': 'Send', disabled: true,
    onclick: () => sendFromComposer() }, icon('send'));
  const stopButton = h('button', { type: 'button', class: 'round-button stop', 'aria-label': 'Stop', hidden: true,
    onclick: () => onStop() }, icon('stop'));
  const element = h('div', { class: 'composer' }, textarea,
    h('div', { class: 'composer-bar' }, picker, h('span', { class: 'spacer' }), sendButton, stopButton));

  function autosize() {
    textarea.style.height = 'auto';
    textarea.style.height = `${Math.min(textarea.scrollHeight, 220)}px`;
    sendButton.disabled = !textarea.value.trim();
  }
  textarea.addEventListener('input', autosize);
  textarea.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendFromComposer();
    }
  });

  function sendFromComposer() {
    const text = textarea.value;
    if (!text.trim() || !canSend()) return;
    textarea.value = '';
    autosize();
    onSend(text);
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
    /** The model picked for the next message, or '' for the server's default. */
    model: () => picker.value,
    setStreaming(on) {
      sendButton.hidden = on;
      stopButton.hidden = !on;
    },
    fill(text) {
      textarea.value = text;
      autosize();
      textarea.focus();
    },
    focus: () => textarea.focus(),
  };
}
