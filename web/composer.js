// The built-in face's composer: the message box that grows with its text, the tray of attachments above it
// (attachments.js), `@` references to other conversations in it (references.js), the paperclip, `@` button
// and model picker (favourites first, then provider by provider; the open conversation's model, else the
// default), and the Send button that becomes Stop while an answer streams. Enter sends, Shift+Enter
// starts a new line; a message may be text, attachments, or both.

import { api } from './client.js';
import { h, icon, toast } from './dom.js';
import { createAttachments } from './attachments.js';
import { createReferences } from './references.js';
import { PLACEHOLDER } from './starters.js';

const SEND = 'Send';
const WAITING = 'Sending when the uploads finish';
const MODELS_FRESH_MS = 5000; // the picker asks again when pointed at after this long (a local server started)

function isOpen(select) {
  try {
    return select.matches(':open');
  } catch {
    return false; // a browser without :open
  }
}

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
  let offered = []; // the models in the picker, as /api/models lists them
  let wanted = null; // the model chosen for this conversation (by the user, or the one it last used); null: default
  let loadedAt = 0;
  let following = null; // the conversation whose model is being asked for
  picker.addEventListener('change', () => {
    wanted = picker.value;
    following = null; // the user's choice wins over an answer still on its way
  });
  const freshen = () => Date.now() - loadedAt > MODELS_FRESH_MS && loadModels();
  picker.addEventListener('pointerenter', freshen);
  picker.addEventListener('focus', freshen);

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

  // The wanted model when it is offered, else the default.
  function choose() {
    const fallback = (offered.find((m) => m.default) || offered[0])?.id || '';
    picker.value = offered.some((m) => m.id === wanted) ? wanted : fallback;
  }

  // `<optgroup>`s: "Favourites" first, then one per provider, in the server's order (hidden models are left out
  // by the server). A favourite's label says its provider, since the group no longer does.
  function fill(models) {
    const option = (m, withProvider) => h('option', { value: m.id, title: m.id },
      withProvider && m.provider_name ? `${m.label} · ${m.provider_name}` : m.label);
    const seen = new Set();
    const favourites = models.filter((m) => m.favourite && !seen.has(m.id) && seen.add(m.id));
    const groups = new Map();
    for (const m of models) {
      if (seen.has(m.id)) continue;
      seen.add(m.id);
      const key = m.provider || '';
      if (!groups.has(key)) groups.set(key, { name: m.provider_name || m.provider || 'Models', models: [] });
      groups.get(key).models.push(m);
    }
    offered = [...favourites, ...[...groups.values()].flatMap((g) => g.models)];
    const lists = [...groups.values()].map((g) => h('optgroup', { label: g.name }, g.models.map((m) => option(m, false))));
    if (favourites.length) lists.unshift(h('optgroup', { label: 'Favourites' }, favourites.map((m) => option(m, true))));
    picker.replaceChildren(...lists);
  }

  // The choice survives a reload of the list (after Settings change) while the model is still offered.
  async function loadModels() {
    loadedAt = Date.now();
    try {
      const { models } = await api('/api/models');
      if (isOpen(picker)) return; // never change an open list under the pointer
      fill(models);
      choose();
      picker.hidden = !models.length;
    } catch (error) {
      loadedAt = 0;
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
    /** Select the model conversation `threadId` last used (when it is offered); null selects the default. */
    async followThread(threadId) {
      following = threadId;
      if (!threadId) {
        wanted = null;
        choose();
        return;
      }
      try {
        const { model } = await api(`/api/threads/${encodeURIComponent(threadId)}/model`);
        if (following !== threadId) return; // another conversation was opened meanwhile
        wanted = model || null;
        choose();
      } catch {
        // the picker keeps what it shows; the conversation opens all the same
      }
    },
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
