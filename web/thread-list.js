// The built-in face's sidebar: the list of saved conversations, newest first and paged, with New chat,
// rename in place, export (export.js's menu: Markdown, JSON, copy as Markdown) and delete after asking.
// Read-only conversations (saved by a newer version) can be exported, not renamed or deleted.
// The search field (search.js) sits above the list, whose place its results take while a query is typed.

import { chatkit } from './client.js';
import { h, icon, toast } from './dom.js';
import { exportButton } from './export.js';

const PAGE = 50;

function titleOf(thread) {
  return thread?.title?.trim() || 'Untitled chat';
}

/**
 * `openId()` is the open conversation's id; `onOpen(id)` and `onNewChat()` switch conversations;
 * `onDeleting(id)` comes just before a conversation is deleted; `onChanged(meta)` when a listed
 * conversation's metadata changed; `search` is the search's `{field, panel}`. Returns the sidebar and the
 * delete dialog to place, and the list's methods.
 */
export function createThreadList({ openId, onOpen, onNewChat, onDeleting, onChanged, search }) {
  let threads = [];
  let after = null; // where the next page starts, or null when all is shown
  let changes = 0; // counts local changes, so a list read before them cannot undo them
  const deleted = new Set();

  const list = h('ul', { class: 'thread-list', role: 'list' });
  const moreButton = h('button', { type: 'button', class: 'button quiet more', hidden: true, onclick: () => load(true) },
    'Show older');
  const nav = h('nav', { class: 'threads', 'aria-label': 'Conversation list' }, list, moreButton);
  const sidebar = h(
    'aside',
    { class: 'sidebar', id: 'sidebar', 'aria-label': 'Conversations' },
    h('div', { class: 'brand' }, h('img', { src: '/favicon.svg', alt: '', width: 22, height: 22 }), 'ChatKit Desktop'),
    h('button', { type: 'button', class: 'button new-chat', onclick: () => onNewChat() }, icon('plus'), 'New chat'),
    search?.field,
    nav,
    search?.panel,
  );

  function row(thread) {
    const locked = thread.status?.type === 'locked';
    const label = h('span', { class: 'thread-title' }, titleOf(thread));
    const open = h('button', { type: 'button', class: 'thread-open', onclick: () => onOpen(thread.id) },
      locked ? icon('lock') : null, label);
    const exporter = exportButton({ threadId: () => thread.id, label: `Export “${titleOf(thread)}”` });
    const actions = locked
      ? h('span', { class: 'thread-actions' }, exporter)
      : h('span', { class: 'thread-actions' },
        exporter,
        h('button', { type: 'button', class: 'icon-button small rename', 'aria-label': `Rename “${titleOf(thread)}”`,
          title: 'Rename', onclick: () => startRename(thread.id) }, icon('pencil')),
        h('button', { type: 'button', class: 'icon-button small delete', 'aria-label': `Delete “${titleOf(thread)}”`,
          title: 'Delete', onclick: () => confirmDelete(thread.id) }, icon('trash')));
    const li = h('li', { class: 'thread', dataset: { id: thread.id } }, open, actions);
    if (openId() === thread.id) {
      li.classList.add('active');
      open.setAttribute('aria-current', 'true');
    }
    return li;
  }

  function render() {
    list.replaceChildren(...threads.map(row));
    if (!threads.length) list.append(h('li', { class: 'thread-empty' }, 'No conversations yet.'));
    moreButton.hidden = !after;
  }

  async function load(more = false) {
    try {
      const params = { limit: PAGE, order: 'desc' };
      if (more && after) params.after = after;
      const since = changes;
      const page = await chatkit('threads.list', params);
      page.data = page.data.filter((t) => !deleted.has(t.id));
      const fresh = page.data.filter((t) => !threads.some((known) => known.id === t.id));
      if (more) {
        threads = threads.concat(fresh);
      } else {
        // The list may have been read before a conversation was started or renamed here (the first list
        // of a cold start waits for the server); what changed meanwhile wins over the older answer.
        const newer = threads.filter((t) => t.changed > since);
        threads = newer.filter((t) => !page.data.some((listed) => listed.id === t.id))
          .concat(page.data.map((listed) => newer.find((t) => t.id === listed.id) || listed));
      }
      after = page.has_more ? page.after : null;
      render();
    } catch (error) {
      toast(error.message);
    }
  }

  /** Add or update a conversation's metadata; `top` moves it to the top of the list. */
  function upsert(thread, { top = false } = {}) {
    const meta = { ...thread, changed: ++changes };
    delete meta.items;
    const index = threads.findIndex((t) => t.id === meta.id);
    if (index === -1) threads.unshift(meta);
    else if (top) threads.splice(0, 0, ...threads.splice(index, 1).map((old) => ({ ...old, ...meta })));
    else threads[index] = { ...threads[index], ...meta };
    onChanged(meta);
    render();
  }

  function startRename(id) {
    const thread = threads.find((t) => t.id === id);
    const li = list.querySelector(`li[data-id="${CSS.escape(id)}"]`);
    if (!thread || !li) return;
    const input = h('input', { type: 'text', class: 'rename-input', value: thread.title || '', maxlength: 200,
      'aria-label': 'New title' });
    let done = false;
    const finish = async (save) => {
      if (done) return;
      done = true;
      const value = input.value.trim();
      if (!save || !value || value === thread.title) {
        render();
        return;
      }
      try {
        await chatkit('threads.update', { thread_id: id, title: value });
        upsert({ ...thread, title: value });
      } catch (error) {
        toast(error.message);
        render();
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

  function confirmDelete(id) {
    const thread = threads.find((t) => t.id === id);
    confirmText.textContent = `“${titleOf(thread)}” will be deleted from this computer. This cannot be undone.`;
    confirmDialog.returnValue = '';
    confirmDialog.onclose = async () => {
      if (confirmDialog.returnValue !== 'delete') return;
      try {
        onDeleting(id);
        await chatkit('threads.delete', { thread_id: id });
        deleted.add(id);
        threads = threads.filter((t) => t.id !== id);
        if (openId() === id) onNewChat();
        else render();
      } catch (error) {
        toast(error.message);
      }
    };
    confirmDialog.showModal();
    confirmDialog.querySelector('.button').focus();
  }

  return {
    sidebar,
    confirmDialog,
    /** Show the search's results (true) or the conversations (false) in the list's place. */
    showResults(on) {
      nav.hidden = on;
    },
    render,
    load,
    upsert,
    /** A listed conversation's metadata, if it is listed. */
    find: (id) => threads.find((t) => t.id === id),
  };
}
