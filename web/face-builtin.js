// The built-in face: a small chat UI of this app's own over the same /chatkit protocol, used when ChatKit
// cannot be loaded (offline, firewall) or when the user picks private mode. Conversations in a sidebar,
// answers streamed as they arrive and rendered with the safe Markdown renderer, stop, retry, a model picker.

import { api, chatkit, chatkitStream, health } from './client.js';
import { h, icon, toast } from './dom.js';
import { renderMarkdown } from './markdown.js';
import { GREETING, PLACEHOLDER, PROMPTS } from './start.js';

const REASONS = {
  private: 'Built-in view — private mode: this page loads nothing from the internet.',
  unavailable: 'Built-in view — ChatKit could not be loaded (offline or blocked).',
};
const NARROW = matchMedia('(max-width: 760px)');
const PAGE = 50;

function textOf(item) {
  return (item.content || []).map((part) => part.text || '').join('');
}

function titleOf(thread) {
  return thread?.title?.trim() || 'Untitled chat';
}

/** Put the built-in face into `root`; `reason` is 'private' or 'unavailable'. Returns {refresh()}. */
export function mountBuiltin(root, { reason, openSettings }) {
  const state = {
    threads: [],
    threadsAfter: null,
    thread: null, // the open thread's metadata, or null for a new chat
    entries: [], // [{item, el, md}] in display order
    stream: null, // the answer being streamed: {controller, threadId, userId, assistant, text}
    error: null,
    changes: 0, // counts local changes to the thread list, so a list read before them cannot undo them
    deleted: new Set(),
  };

  // ---- layout ----
  const threadList = h('ul', { class: 'thread-list', role: 'list' });
  const moreButton = h('button', { type: 'button', class: 'button quiet more', hidden: true, onclick: () => loadThreads(true) },
    'Show older');
  const sidebar = h(
    'aside',
    { class: 'sidebar', id: 'sidebar', 'aria-label': 'Conversations' },
    h('div', { class: 'brand' }, h('img', { src: '/favicon.svg', alt: '', width: 22, height: 22 }), 'ChatKit Desktop'),
    h('button', { type: 'button', class: 'button new-chat', onclick: () => newChat() }, icon('plus'), 'New chat'),
    h('nav', { class: 'threads', 'aria-label': 'Conversation list' }, threadList, moreButton),
  );
  const toggle = h('button', { type: 'button', class: 'icon-button sidebar-toggle', 'aria-label': 'Conversations',
    'aria-controls': 'sidebar', 'aria-expanded': 'false', onclick: () => setSidebar(!sidebarOpen()) }, icon('menu'));
  const title = h('h1', { class: 'chat-title' }, 'New chat');
  const messages = h('div', { class: 'messages-inner' });
  const scroller = h('div', { class: 'messages', role: 'log', 'aria-live': 'polite', 'aria-label': 'Messages' }, messages);
  const textarea = h('textarea', { rows: 1, placeholder: PLACEHOLDER, 'aria-label': 'Message', class: 'composer-input' });
  const picker = h('select', { class: 'model-picker', 'aria-label': 'Model' });
  const sendButton = h('button', { type: 'button', class: 'round-button send', 'aria-label': 'Send', disabled: true,
    onclick: () => sendFromComposer() }, icon('send'));
  const stopButton = h('button', { type: 'button', class: 'round-button stop', 'aria-label': 'Stop', hidden: true,
    onclick: () => stop() }, icon('stop'));
  const composer = h('div', { class: 'composer' }, textarea,
    h('div', { class: 'composer-bar' }, picker, h('span', { class: 'spacer' }), sendButton, stopButton));
  const lockedNote = h('p', { class: 'locked-note', hidden: true });
  const starting = h('span', { class: 'starting', hidden: true, role: 'status' }, 'Starting…');
  const note = h('p', { class: 'face-note' },
    h('span', { class: 'face-reason' }, REASONS[reason] || REASONS.unavailable),
    reason === 'unavailable'
      ? h('button', { type: 'button', class: 'link-button', onclick: () => location.reload() }, 'Try ChatKit again')
      : null,
    starting);
  const scrim = h('div', { class: 'scrim', onclick: () => setSidebar(false) });
  const face = h(
    'div',
    { class: 'builtin', dataset: { sidebar: 'closed' } },
    sidebar,
    scrim,
    h('main', { class: 'chat' },
      h('header', { class: 'topbar' }, toggle, title,
        h('button', { type: 'button', class: 'icon-button settings-button', 'aria-label': 'Settings',
          title: 'Settings', onclick: () => openSettings() }, icon('gear'))),
      scroller,
      h('div', { class: 'composer-area' }, lockedNote, composer, note)),
  );
  root.replaceChildren(face);

  function sidebarOpen() {
    return face.dataset.sidebar === 'open';
  }

  function setSidebar(open) {
    face.dataset.sidebar = open ? 'open' : 'closed';
    toggle.setAttribute('aria-expanded', String(open));
  }

  // ---- composer ----
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

  function setStreaming(on) {
    sendButton.hidden = on;
    stopButton.hidden = !on;
    face.classList.toggle('streaming', on);
    updateActions();
  }

  function sendFromComposer() {
    const text = textarea.value;
    if (!text.trim() || state.stream || state.thread?.status?.type === 'locked') return;
    textarea.value = '';
    autosize();
    send(text);
  }

  // ---- models ----
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

  // ---- thread list ----
  function threadRow(thread) {
    const locked = thread.status?.type === 'locked';
    const label = h('span', { class: 'thread-title' }, titleOf(thread));
    const open = h('button', { type: 'button', class: 'thread-open', onclick: () => openThread(thread.id) },
      locked ? icon('lock') : null, label);
    const actions = locked
      ? null
      : h('span', { class: 'thread-actions' },
        h('button', { type: 'button', class: 'icon-button small rename', 'aria-label': `Rename “${titleOf(thread)}”`,
          title: 'Rename', onclick: () => startRename(thread.id) }, icon('pencil')),
        h('button', { type: 'button', class: 'icon-button small delete', 'aria-label': `Delete “${titleOf(thread)}”`,
          title: 'Delete', onclick: () => confirmDelete(thread.id) }, icon('trash')));
    const li = h('li', { class: 'thread', dataset: { id: thread.id } }, open, actions);
    if (state.thread?.id === thread.id) {
      li.classList.add('active');
      open.setAttribute('aria-current', 'true');
    }
    return li;
  }

  function renderThreads() {
    threadList.replaceChildren(...state.threads.map(threadRow));
    if (!state.threads.length) threadList.append(h('li', { class: 'thread-empty' }, 'No conversations yet.'));
    moreButton.hidden = !state.threadsAfter;
  }

  async function loadThreads(more = false) {
    try {
      const params = { limit: PAGE, order: 'desc' };
      if (more && state.threadsAfter) params.after = state.threadsAfter;
      const since = state.changes;
      const page = await chatkit('threads.list', params);
      page.data = page.data.filter((t) => !state.deleted.has(t.id));
      const fresh = page.data.filter((t) => !state.threads.some((known) => known.id === t.id));
      if (more) {
        state.threads = state.threads.concat(fresh);
      } else {
        // The list may have been read before a conversation was started or renamed here (the first list
        // of a cold start waits for the server); what changed meanwhile wins over the older answer.
        const newer = state.threads.filter((t) => t.changed > since);
        state.threads = newer.filter((t) => !page.data.some((listed) => listed.id === t.id))
          .concat(page.data.map((listed) => newer.find((t) => t.id === listed.id) || listed));
      }
      state.threadsAfter = page.has_more ? page.after : null;
      renderThreads();
    } catch (error) {
      toast(error.message);
    }
  }

  function upsertThread(thread, { top = false } = {}) {
    const meta = { ...thread, changed: ++state.changes };
    delete meta.items;
    const index = state.threads.findIndex((t) => t.id === meta.id);
    if (index === -1) state.threads.unshift(meta);
    else if (top) state.threads.splice(0, 0, ...state.threads.splice(index, 1).map((old) => ({ ...old, ...meta })));
    else state.threads[index] = { ...state.threads[index], ...meta };
    if (state.thread?.id === meta.id) {
      state.thread = { ...state.thread, ...meta };
      showThreadHeader();
    }
    renderThreads();
  }

  function startRename(id) {
    const thread = state.threads.find((t) => t.id === id);
    const li = threadList.querySelector(`li[data-id="${CSS.escape(id)}"]`);
    if (!thread || !li) return;
    const input = h('input', { type: 'text', class: 'rename-input', value: thread.title || '', maxlength: 200,
      'aria-label': 'New title' });
    let done = false;
    const finish = async (save) => {
      if (done) return;
      done = true;
      const value = input.value.trim();
      if (!save || !value || value === thread.title) {
        renderThreads();
        return;
      }
      try {
        await chatkit('threads.update', { thread_id: id, title: value });
        upsertThread({ ...thread, title: value });
      } catch (error) {
        toast(error.message);
        renderThreads();
      }
    };
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') finish(true);
      if (event.key === 'Escape') {
        event.preventDefault();
        finish(false);
      }
    });
    input.addEventListener('blur', () => finish(true));
    li.replaceChildren(input);
    input.focus();
    input.select();
  }

  const confirmText = h('p', { class: 'confirm-text' });
  const confirmDialog = h('dialog', { class: 'confirm', 'aria-label': 'Delete conversation' },
    h('h2', {}, 'Delete conversation?'),
    confirmText,
    h('div', { class: 'dialog-buttons' },
      h('button', { type: 'button', class: 'button', value: 'cancel', onclick: () => confirmDialog.close('cancel') },
        'Cancel'),
      h('button', { type: 'button', class: 'button danger', value: 'delete',
        onclick: () => confirmDialog.close('delete') }, 'Delete')));
  face.append(confirmDialog);

  function confirmDelete(id) {
    const thread = state.threads.find((t) => t.id === id);
    confirmText.textContent = `“${titleOf(thread)}” will be deleted from this computer. This cannot be undone.`;
    confirmDialog.returnValue = '';
    confirmDialog.onclose = async () => {
      if (confirmDialog.returnValue !== 'delete') return;
      try {
        if (state.stream?.threadId === id) stop();
        await chatkit('threads.delete', { thread_id: id });
        state.deleted.add(id);
        state.threads = state.threads.filter((t) => t.id !== id);
        if (state.thread?.id === id) newChat();
        else renderThreads();
      } catch (error) {
        toast(error.message);
      }
    };
    confirmDialog.showModal();
    confirmDialog.querySelector('.button').focus();
  }

  // ---- messages ----
  function nearBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 120;
  }

  function scrollDown(force = false) {
    if (force || nearBottom()) scroller.scrollTop = scroller.scrollHeight;
  }

  function showEmpty() {
    messages.replaceChildren(
      h('div', { class: 'empty' },
        h('img', { src: '/favicon.svg', alt: '', width: 44, height: 44, class: 'empty-logo' }),
        h('h2', {}, GREETING),
        h('div', { class: 'prompts' }, PROMPTS.map((p) =>
          h('button', { type: 'button', class: 'prompt', onclick: () => {
            textarea.value = p.prompt;
            autosize();
            textarea.focus();
          } }, p.label)))),
    );
  }

  function clearEmpty() {
    messages.querySelector('.empty')?.remove();
  }

  function renderEntry(entry) {
    const { item } = entry;
    entry.el.dataset.id = item.id || '';
    if (item.type === 'user_message') {
      entry.bubble.textContent = textOf(item);
      return;
    }
    const text = textOf(item);
    if (!text && entry.pending) {
      entry.md.replaceChildren(h('span', { class: 'typing', 'aria-label': 'Answering' }, h('i'), h('i'), h('i')));
    } else {
      entry.md.replaceChildren(renderMarkdown(text));
    }
  }

  function scheduleRender(entry) {
    if (entry.frame) return;
    entry.frame = requestAnimationFrame(() => {
      entry.frame = 0;
      const stick = nearBottom();
      renderEntry(entry);
      if (stick) scrollDown(true);
    });
  }

  function addEntry(item, { pending = false } = {}) {
    clearEmpty();
    let entry;
    if (item.type === 'user_message') {
      const bubble = h('div', { class: 'bubble' });
      entry = { item, bubble, el: h('div', { class: 'msg msg-user' }, bubble) };
    } else {
      const md = h('div', { class: 'md' });
      const copy = h('button', { type: 'button', class: 'icon-button small copy', 'aria-label': 'Copy answer',
        title: 'Copy', onclick: () => copyAnswer(entry, copy) }, icon('copy'));
      const retry = h('button', { type: 'button', class: 'icon-button small retry', 'aria-label': 'Retry answer',
        title: 'Retry', hidden: true, onclick: () => retryAnswer(entry) }, icon('retry'));
      const stoppedNote = h('span', { class: 'stopped-note', hidden: true }, 'Stopped');
      const actions = h('div', { class: 'msg-actions' }, stoppedNote, copy, retry);
      entry = { item, md, actions, retry, stoppedNote, el: h('div', { class: 'msg msg-assistant' }, md, actions) };
    }
    entry.pending = pending;
    state.entries.push(entry);
    messages.append(entry.el);
    renderEntry(entry);
    scrollDown(true);
    return entry;
  }

  function removeEntry(entry) {
    state.entries = state.entries.filter((e) => e !== entry);
    entry.el.remove();
  }

  function entryById(id) {
    return state.entries.find((e) => e.item.id === id);
  }

  function updateActions() {
    const locked = state.thread?.status?.type === 'locked';
    const last = state.entries[state.entries.length - 1];
    for (const entry of state.entries) {
      if (!entry.retry) continue;
      entry.retry.hidden = locked || Boolean(state.stream) || entry !== last || !entry.item.id;
      entry.actions.hidden = entry.pending && !textOf(entry.item);
    }
  }

  async function copyAnswer(entry, button) {
    try {
      await navigator.clipboard.writeText(textOf(entry.item));
      button.classList.add('done');
      setTimeout(() => button.classList.remove('done'), 1200);
    } catch {
      toast('Could not copy to the clipboard.');
    }
  }

  function showError(message, retry) {
    clearError();
    state.error = h('div', { class: 'msg-error', role: 'alert' },
      h('p', {}, message),
      h('button', { type: 'button', class: 'button small', onclick: () => {
        clearError();
        retry();
      } }, icon('retry'), 'Retry'));
    messages.append(state.error);
    scrollDown(true);
  }

  function clearError() {
    state.error?.remove();
    state.error = null;
  }

  // ---- threads ----
  function showThreadHeader() {
    title.textContent = state.thread?.title?.trim() || 'New chat';
    document.title = state.thread?.title ? `${state.thread.title} — ChatKit Desktop` : 'ChatKit Desktop';
    const locked = state.thread?.status?.type === 'locked';
    lockedNote.hidden = !locked;
    composer.hidden = locked;
    if (locked) {
      lockedNote.replaceChildren(icon('lock'),
        h('span', {}, `Read-only: ${state.thread.status.reason || 'this conversation cannot be changed.'}`));
    }
  }

  function resetMessages() {
    clearError();
    state.entries = [];
    messages.replaceChildren();
  }

  function newChat() {
    if (state.stream) stop();
    state.thread = null;
    resetMessages();
    showEmpty();
    showThreadHeader();
    renderThreads();
    if (NARROW.matches) setSidebar(false);
    textarea.focus();
  }

  async function openThread(id) {
    if (NARROW.matches) setSidebar(false);
    if (state.thread?.id === id && !state.error) return;
    if (state.stream) stop();
    state.thread = state.threads.find((t) => t.id === id) || { id };
    resetMessages();
    showThreadHeader();
    renderThreads();
    messages.append(h('p', { class: 'loading' }, 'Loading…'));
    try {
      const thread = await chatkit('threads.get_by_id', { thread_id: id });
      let items = thread.items.data;
      let page = thread.items;
      while (page.has_more && page.after) {
        page = await chatkit('items.list', { thread_id: id, limit: 100, order: 'asc', after: page.after });
        items = items.concat(page.data);
      }
      if (state.thread?.id !== id) return; // the user moved on meanwhile
      resetMessages();
      upsertThread(thread);
      for (const item of items) {
        if (item.type === 'user_message' || item.type === 'assistant_message') addEntry(item);
      }
      if (!state.entries.length) showEmpty();
      updateActions();
      scrollDown(true);
    } catch (error) {
      if (state.thread?.id !== id) return;
      resetMessages();
      showError(error.message, () => openThread(id));
    }
  }

  // ---- streaming ----
  function stop() {
    if (!state.stream) return;
    state.stream.stopped = true; // events still in flight are ignored from now on
    state.stream.controller.abort();
  }

  function send(text) {
    const input = {
      content: [{ type: 'input_text', text }],
      attachments: [],
      inference_options: picker.value ? { model: picker.value } : {},
    };
    const userEntry = addEntry({ type: 'user_message', id: null, content: [{ type: 'input_text', text }] },
      { pending: true });
    if (state.thread) run('threads.add_user_message', { thread_id: state.thread.id, input }, { userEntry, text });
    else run('threads.create', { input }, { userEntry, text });
  }

  function retryAnswer(entry) {
    const index = state.entries.indexOf(entry);
    const user = state.entries.slice(0, index).reverse().find((e) => e.item.type === 'user_message');
    if (!user?.item.id || !state.thread || state.stream) return;
    retryAfter(user);
  }

  function retryAfter(user) {
    const index = state.entries.indexOf(user);
    for (const later of state.entries.slice(index + 1)) removeEntry(later);
    run('threads.retry_after_item', { thread_id: state.thread.id, item_id: user.item.id }, { userEntry: null });
  }

  async function run(type, params, context) {
    clearError();
    const s = {
      controller: new AbortController(),
      threadId: params.thread_id || null,
      userId: type === 'threads.retry_after_item' ? params.item_id : null,
      assistant: addEntry({ type: 'assistant_message', id: null, content: [] }, { pending: true }),
      failed: null,
    };
    state.stream = s;
    setStreaming(true);
    const current = () => state.stream === s && !s.stopped;
    try {
      await chatkitStream(type, params, {
        signal: s.controller.signal,
        onEvent: (event) => current() && onEvent(s, event, context),
      });
    } catch (error) {
      if (error.name === 'AbortError') {
        const answered = s.assistant && textOf(s.assistant.item);
        if (answered) {
          s.assistant.stoppedNote.hidden = false;
          s.assistant.pending = false;
        }
      } else {
        s.failed = error.message;
      }
    }
    if (s.assistant && (s.assistant.pending && !textOf(s.assistant.item))) removeEntry(s.assistant);
    else if (s.assistant) s.assistant.pending = false;
    if (state.stream === s) {
      state.stream = null;
      setStreaming(false);
      if (s.failed) {
        const user = s.userId ? entryById(s.userId) : null;
        showError(s.failed, () => {
          if (user && state.thread) {
            retryAfter(user);
          } else if (context.text) {
            if (context.userEntry) removeEntry(context.userEntry);
            send(context.text);
          }
        });
      }
      if (s.assistant && state.entries.includes(s.assistant)) renderEntry(s.assistant); // no typing dots left
      updateActions();
      if (!NARROW.matches && document.activeElement === document.body) textarea.focus();
    }
  }

  function onEvent(s, event, context) {
    switch (event.type) {
      case 'thread.created':
        state.thread = { ...event.thread };
        delete state.thread.items;
        s.threadId = event.thread.id;
        upsertThread(event.thread, { top: true });
        showThreadHeader();
        break;
      case 'thread.updated':
        upsertThread(event.thread);
        break;
      case 'thread.item.added':
      case 'thread.item.done':
      case 'thread.item.replaced':
        placeItem(s, event.item, context, event.type === 'thread.item.done');
        break;
      case 'thread.item.updated': {
        const entry = entryById(event.item_id);
        if (entry && entry.item.type === 'assistant_message') {
          applyUpdate(entry.item, event.update);
          scheduleRender(entry);
        }
        break;
      }
      case 'thread.item.removed': {
        const entry = entryById(event.item_id);
        if (entry) {
          removeEntry(entry);
          if (s.assistant === entry) s.assistant = null;
        }
        break;
      }
      case 'error':
        s.failed = event.message || 'Something went wrong while answering.';
        break;
      case 'notice':
        toast(event.message, { kind: event.level === 'danger' ? 'error' : 'info' });
        break;
      default:
        break; // stream_options, progress_update, client_effect
    }
  }

  function placeItem(s, item, context, done) {
    if (item.type === 'user_message') {
      const entry = entryById(item.id) || (context.userEntry && !context.userEntry.item.id ? context.userEntry : null);
      if (entry) {
        entry.item = item;
        entry.pending = false;
        renderEntry(entry);
      } else {
        addEntry(item);
      }
      s.userId = item.id;
      return;
    }
    if (item.type !== 'assistant_message') return;
    let entry = entryById(item.id);
    if (!entry && s.assistant && !s.assistant.item.id) entry = s.assistant;
    if (!entry) {
      entry = addEntry(item, { pending: !done });
      s.assistant = entry;
    }
    // Keep text already streamed if an "added" event arrives with empty content.
    if (done || textOf(item) || !textOf(entry.item)) entry.item = { ...item, content: item.content.map((p) => ({ ...p })) };
    else entry.item = { ...item, content: entry.item.content };
    entry.pending = !done;
    if (s.assistant === null || s.assistant === entry) s.assistant = entry;
    scheduleRender(entry);
  }

  function applyUpdate(item, update) {
    const parts = item.content;
    const at = update.content_index ?? 0;
    switch (update.type) {
      case 'assistant_message.content_part.added':
        parts[at] = { ...update.content, text: update.content?.text || '' };
        break;
      case 'assistant_message.content_part.text_delta':
        parts[at] = parts[at] || { type: 'output_text', text: '' };
        parts[at].text = (parts[at].text || '') + (update.delta || '');
        break;
      case 'assistant_message.content_part.done':
        parts[at] = { ...update.content };
        break;
      default:
        break;
    }
  }

  // ---- start ----
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
  showEmpty();
  showThreadHeader();
  renderThreads();
  watchHealth();
  loadModels();
  loadThreads();
  if (!NARROW.matches) textarea.focus();

  return {
    refresh: () => loadModels(),
  };
}
