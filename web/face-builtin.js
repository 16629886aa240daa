// The built-in face: a small chat UI of this app's own over the same /chatkit protocol, used when ChatKit
// cannot be loaded (offline, firewall) or when the user picks private mode. This module lays the face out and
// wires its parts: the conversation list (thread-list.js), the messages (conversation-view.js), the composer
// (composer.js) with its attachments (attachments.js, which also takes files dropped on the conversation), the
// search above the list (search.js), and the answer streams whose events conversation-stream.js turns into the
// conversation. An export dropped on the list (or a .zip on the conversation) is imported (import.js), in
// Settings; the list is read again when an import ends.

import { chatkit, chatkitStream, health } from './client.js';
import { h, icon, toast } from './dom.js';
import { watchDrops } from './attachments.js';
import { createComposer } from './composer.js';
import {
  addEntry, applyStreamEvent, entryById, finishStream, newConversation, removeEntry, startStream,
} from './conversation-stream.js';
import { createConversationView } from './conversation-view.js';
import { importFile, isZip, looksImportable, onImported } from './import.js';
import { createSearch, onSearchKey } from './search.js';
import { createThreadList } from './thread-list.js';

const REASONS = {
  private: 'Built-in view — private mode: this page loads nothing from the internet.',
  unavailable: 'Built-in view — ChatKit could not be loaded (offline or blocked).',
};
const NARROW = matchMedia('(max-width: 760px)');
// What a saved conversation shows: questions, answers and the model's reasoning (a `workflow` of thoughts).
const SHOWN = new Set(['user_message', 'assistant_message', 'workflow']);
const IMPORT_HINT = 'Drop an export to import it';
const ZIP_TYPES = ['application/zip', 'application/x-zip-compressed'];

/** Put the built-in face into `root`; `reason` is 'private' or 'unavailable'. Returns {refresh()}. */
export function mountBuiltin(root, { reason, openSettings }) {
  const conversation = newConversation();
  let stream = null; // the answer being streamed

  const search = createSearch({
    onOpen: (result) => openResult(result),
    onActive: (on) => threadList.showResults(on),
    onEscape: (hadQuery) => {
      if (!hadQuery) composer.focus(); // a second Escape leaves the field
    },
  });
  const threadList = createThreadList({
    search,
    openId: () => conversation.thread?.id,
    onOpen: (id) => openThread(id),
    onNewChat: () => newChat(),
    onDeleting: (id) => {
      if (stream?.threadId === id) stop();
    },
    onChanged: (meta) => {
      if (conversation.thread?.id !== meta.id) return;
      conversation.thread = { ...conversation.thread, ...meta };
      showThreadHeader();
    },
  });
  const view = createConversationView({
    onPrompt: (text) => composer.fill(text),
    onRetry: (entry) => retryAnswer(entry),
    onReference: (id) => openThread(id),
  });
  const composer = createComposer({
    canSend: () => !stream && !locked(),
    onSend: (content, attachments) => send(content, attachments),
    onStop: () => stop(),
  });

  // ---- layout ----
  const toggle = h('button', { type: 'button', class: 'icon-button sidebar-toggle', 'aria-label': 'Conversations',
    'aria-controls': 'sidebar', 'aria-expanded': 'false', onclick: () => setSidebar(!sidebarOpen()) }, icon('menu'));
  const title = h('h1', { class: 'chat-title' }, 'New chat');
  const lockedNote = h('p', { class: 'locked-note', hidden: true });
  const starting = h('span', { class: 'starting', hidden: true, role: 'status' }, 'Starting…');
  const note = h('p', { class: 'face-note' },
    h('span', { class: 'face-reason' }, REASONS[reason] || REASONS.unavailable),
    reason === 'unavailable'
      ? h('button', { type: 'button', class: 'link-button', onclick: () => location.reload() }, 'Try ChatKit again')
      : null,
    starting);
  const scrim = h('div', { class: 'scrim', onclick: () => setSidebar(false) });
  const chat = h('main', { class: 'chat' },
    h('header', { class: 'topbar' }, toggle, title,
      h('button', { type: 'button', class: 'icon-button settings-button', 'aria-label': 'Settings',
        title: 'Settings', onclick: () => openSettings() }, icon('gear'))),
    view.element,
    h('div', { class: 'composer-area' }, lockedNote, composer.element, note));
  // A .zip cannot be attached: dropped on the conversation, it is imported; other files are attached.
  watchDrops(chat, {
    enabled: () => !locked(),
    label: (types) => (types.length && types.every((type) => ZIP_TYPES.includes(type))
      ? IMPORT_HINT : 'Drop files to attach them'),
    onFiles: (files) => {
      const zips = files.filter(isZip);
      const others = files.filter((file) => !isZip(file));
      if (zips.length) importDropped(zips);
      if (others.length) composer.attach(others);
    },
  });
  watchDrops(threadList.sidebar, {
    enabled: () => true,
    label: () => IMPORT_HINT,
    iconName: 'download',
    hintClass: 'import-drop-hint',
    onFiles: (files) => importDropped(files),
  });
  const face = h(
    'div',
    { class: 'builtin', dataset: { sidebar: 'closed' } },
    threadList.sidebar,
    scrim,
    chat,
    threadList.confirmDialog,
  );
  root.replaceChildren(face);

  // One file is imported at a time: the first that may be an export, in Settings, where its progress shows.
  function importDropped(files) {
    const file = files.find(looksImportable);
    if (!file) {
      toast('Only an export (.zip or .json) can be imported; drop other files on the conversation to attach them.');
      return;
    }
    if (files.length > 1) toast(`One file is imported at a time: ${file.name}.`, { kind: 'note' });
    importFile(file, { open: openSettings });
  }

  function sidebarOpen() {
    return face.dataset.sidebar === 'open';
  }

  function setSidebar(open) {
    face.dataset.sidebar = open ? 'open' : 'closed';
    toggle.setAttribute('aria-expanded', String(open));
  }

  function locked() {
    return conversation.thread?.status?.type === 'locked';
  }

  function updateActions() {
    view.updateActions(conversation.entries, { locked: locked(), streaming: Boolean(stream) });
  }

  function setStreaming(on) {
    composer.setStreaming(on);
    face.classList.toggle('streaming', on);
    updateActions();
  }

  // ---- conversations ----
  function showThreadHeader() {
    title.textContent = conversation.thread?.title?.trim() || 'New chat';
    document.title = conversation.thread?.title ? `${conversation.thread.title} — ChatKit Desktop` : 'ChatKit Desktop';
    lockedNote.hidden = !locked();
    composer.element.hidden = locked();
    if (locked()) {
      lockedNote.replaceChildren(icon('lock'),
        h('span', {}, `Read-only: ${conversation.thread.status.reason || 'this conversation cannot be changed.'}`));
    }
  }

  function resetMessages() {
    conversation.entries = [];
    view.clear();
  }

  function show(item, options) {
    const entry = addEntry(conversation, item, options);
    view.add(entry);
    return entry;
  }

  function drop(entry) {
    removeEntry(conversation, entry);
    view.remove(entry);
  }

  function newChat() {
    if (stream) stop();
    conversation.thread = null;
    composer.followThread(null); // a new conversation starts on the default model
    resetMessages();
    view.showEmpty();
    showThreadHeader();
    threadList.render();
    if (NARROW.matches) setSidebar(false);
    composer.focus();
  }

  async function openThread(id) {
    if (NARROW.matches) setSidebar(false);
    if (conversation.thread?.id === id && !view.hasError()) return;
    if (stream) stop();
    conversation.thread = threadList.find(id) || { id };
    composer.followThread(id); // the model it last used is selected
    resetMessages();
    showThreadHeader();
    threadList.render();
    view.showLoading();
    try {
      const thread = await chatkit('threads.get_by_id', { thread_id: id });
      let items = thread.items.data;
      let page = thread.items;
      while (page.has_more && page.after) {
        page = await chatkit('items.list', { thread_id: id, limit: 100, order: 'asc', after: page.after });
        items = items.concat(page.data);
      }
      if (conversation.thread?.id !== id) return; // the user moved on meanwhile
      resetMessages();
      threadList.upsert(thread);
      for (const item of items) {
        if (SHOWN.has(item.type) && (item.type !== 'workflow' || item.workflow?.type === 'reasoning')) show(item);
      }
      if (!conversation.entries.length) view.showEmpty();
      updateActions();
      view.scrollDown(true);
    } catch (error) {
      if (conversation.thread?.id !== id) return;
      resetMessages();
      view.showError(error.message, () => openThread(id));
    }
  }

  // A message hit opens its conversation at that message; a title hit (no item) just opens the conversation.
  async function openResult({ thread_id: id, item_id: itemId }) {
    await openThread(id);
    if (conversation.thread?.id !== id) return;
    if (itemId) view.reveal(itemId);
    if (NARROW.matches) composer.focus(); // the drawer with the field has closed
  }

  // ---- answers ----
  function stop() {
    if (!stream) return;
    stream.stopped = true; // events still in flight are ignored from now on
    stream.controller.abort();
  }

  // `content` is the message's parts: its text, with a tag for each conversation it references (references.js);
  // `attachments` are the uploaded ones, as the server described them; the question shows both at once. A
  // message of attachments alone has no text part at all (the server accepts that), rather than an empty one.
  function send(content, attachments = []) {
    const input = {
      content,
      attachments: attachments.map((a) => a.id),
      inference_options: composer.model() ? { model: composer.model() } : {},
    };
    const userEntry = show({ type: 'user_message', id: null, content, attachments }, { pending: true });
    const asked = { userEntry, content, attachments };
    if (conversation.thread) run('threads.add_user_message', { thread_id: conversation.thread.id, input }, asked);
    else run('threads.create', { input }, asked);
  }

  function retryAnswer(entry) {
    const index = conversation.entries.indexOf(entry);
    const user = conversation.entries.slice(0, index).reverse().find((e) => e.item.type === 'user_message');
    if (!user?.item.id || !conversation.thread || stream) return;
    retryAfter(user);
  }

  function retryAfter(user) {
    const index = conversation.entries.indexOf(user);
    for (const later of conversation.entries.slice(index + 1)) drop(later);
    const params = { thread_id: conversation.thread.id, item_id: user.item.id };
    run('threads.retry_after_item', params, { userId: user.item.id });
  }

  function redraw(changes) {
    for (const change of changes) {
      if (change.type === 'thread') threadList.upsert(change.thread, { top: change.top });
      else if (change.type === 'added') view.add(change.entry, change.before);
      else if (change.type === 'changed') view.update(change.entry);
      else if (change.type === 'removed') view.remove(change.entry);
      else if (change.type === 'notice') toast(change.message, { kind: change.kind });
    }
  }

  async function run(type, params, asked) {
    view.clearError();
    const s = startStream(conversation, { threadId: params.thread_id || null, ...asked });
    s.controller = new AbortController();
    view.add(s.assistant);
    stream = s;
    setStreaming(true);
    const current = () => stream === s && !s.stopped;
    let outcome = {};
    try {
      await chatkitStream(type, params, {
        signal: s.controller.signal,
        onEvent: (event) => current() && redraw(applyStreamEvent(conversation, s, event)),
      });
    } catch (error) {
      outcome = error.name === 'AbortError' ? { stopped: true } : { failed: error.message };
    }
    redraw(finishStream(conversation, s, outcome));
    if (stream !== s) return;
    stream = null;
    setStreaming(false);
    if (s.failed) {
      const user = s.userId ? entryById(conversation, s.userId) : null;
      view.showError(s.failed, () => {
        if (user && conversation.thread) {
          retryAfter(user);
        } else if (s.content.length || s.attachments.length) {
          if (s.userEntry) drop(s.userEntry);
          send(s.content, s.attachments);
        }
      });
    }
    if (s.assistant && conversation.entries.includes(s.assistant)) view.render(s.assistant); // no typing dots left
    updateActions();
    if (!NARROW.matches && document.activeElement === document.body) composer.focus();
  }

  async function watchHealth() {
    for (;;) {
      let ready = false;
      try {
        ready = (await health()).chat_ready;
      } catch {
        ready = false;
      }
      starting.hidden = ready;
      if (ready) return;
      await new Promise((resolve) => setTimeout(resolve, 600));
    }
  }

  NARROW.addEventListener('change', () => setSidebar(false));
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && sidebarOpen()) setSidebar(false);
  });
  onSearchKey(() => {
    if (document.querySelector('dialog[open]')) return; // not behind Settings or a question
    if (NARROW.matches) setSidebar(true);
    search.focus();
  });
  view.showEmpty();
  showThreadHeader();
  threadList.render();
  watchHealth();
  composer.loadModels();
  composer.loadLimits();
  threadList.load();
  onImported(() => threadList.load()); // imported conversations keep their dates: most land further down
  if (!NARROW.matches) composer.focus();

  return {
    refresh: () => composer.loadModels(),
  };
}
