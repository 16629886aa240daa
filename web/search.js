// Conversation search, the same in both faces: a search field whose results (`GET /api/search`) come as the
// user types, each a conversation's title, date and the words that matched in their sentence, moved through
// with ↑/↓ and opened with Enter. The built-in face puts it atop its conversation list (createSearch); the
// ChatKit face shows it in a dialog of ours above ChatKit (createSearchDialog). Ctrl+K / ⌘K reach both.

import { api } from './client.js';
import { h, icon } from './dom.js';

/** Typing faster than this sends one query, not one per key. */
const DEBOUNCE_MS = 150;
const PAGE = 20;
const MAC = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
const INDEXING = 'The search index is still being built: some conversations may be missing for now.';
let made = 0; // numbers the ids that tie the field to its list, one set per search on the page

/**
 * `onOpen(result)` opens a result (`{thread_id, item_id, …}` as the server sent it); `onActive(active)` says
 * when a query starts or ends (the built-in face shows the results in place of its list meanwhile);
 * `onEscape(hadQuery)` comes after Escape has cleared the field. Returns the field and the results panel to
 * place, the input, `focus()` and `clear()`.
 */
export function createSearch({ onOpen, onActive = () => {}, onEscape = () => {} }) {
  const ids = `search-${++made}`;
  let query = ''; // the text the results shown are for
  let results = [];
  let cursor = null; // the next page's cursor, or null
  let indexing = false;
  let error = ''; // the server's sentence for a refused query
  let searching = false;
  let active = -1; // the highlighted result
  let sequence = 0; // numbers the requests: only the newest one's answer is shown
  let controller = null;
  let timer = 0;

  const input = h('input', {
    type: 'search', class: 'search-input', placeholder: 'Search conversations', autocomplete: 'off',
    spellcheck: 'false', role: 'combobox', 'aria-label': 'Search conversations', 'aria-expanded': 'false',
    'aria-autocomplete': 'list', 'aria-controls': `${ids}-list`, 'aria-keyshortcuts': 'Control+K Meta+K',
    maxlength: 1000, // the server refuses over 500 with its own sentence; this only bounds a paste
  });
  const field = h('div', { class: 'search-field', role: 'search' },
    icon('search'), input, h('kbd', { class: 'search-key', 'aria-hidden': 'true' }, MAC ? '⌘K' : 'Ctrl K'));
  const status = h('p', { class: 'search-status', role: 'status', 'aria-live': 'polite' });
  const note = h('p', { class: 'search-note', hidden: true }, INDEXING);
  const list = h('ul', { class: 'search-results', id: `${ids}-list`, role: 'listbox',
    'aria-label': 'Search results' });
  const more = h('button', { type: 'button', class: 'button quiet small search-more', hidden: true,
    onclick: () => loadMore() }, 'Load more');
  const panel = h('div', { class: 'search-panel', hidden: true }, note, status, list, more);

  function isActive() {
    return Boolean(input.value.trim());
  }

  input.addEventListener('input', () => {
    clearTimeout(timer);
    if (!isActive()) {
      reset();
      return;
    }
    onActive(true);
    panel.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    searching = true;
    error = ''; // a refusal was for the text before
    if (!results.length) draw(); // "Searching…"; results already shown stay until the new ones come
    timer = setTimeout(() => run(input.value), DEBOUNCE_MS);
  });

  input.addEventListener('keydown', (event) => {
    if (event.isComposing) return;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      if (!results.length) return;
      event.preventDefault();
      const down = event.key === 'ArrowDown';
      if (down && active === results.length - 1 && cursor) loadMore(true);
      else highlight(down ? Math.min(active + 1, results.length - 1) : Math.max(active - 1, 0));
    } else if (event.key === 'Enter') {
      event.preventDefault();
      if (results.length) open(Math.max(active, 0));
    } else if (event.key === 'Escape') {
      // Handled here, so a dialog around the field closes only through onEscape, with the field cleared.
      event.preventDefault();
      event.stopPropagation();
      const hadQuery = Boolean(input.value);
      clear();
      onEscape(hadQuery);
    }
  });

  function reset() {
    clearTimeout(timer);
    sequence++;
    controller?.abort();
    query = '';
    results = [];
    cursor = null;
    indexing = false;
    error = '';
    searching = false;
    active = -1;
    panel.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    list.replaceChildren();
    onActive(false);
  }

  function clear() {
    input.value = '';
    reset();
  }

  // `after`: the cursor of the page to append, or null for a new query.
  async function run(text, after = null) {
    const seq = ++sequence;
    controller?.abort();
    controller = new AbortController();
    const params = new URLSearchParams({ q: text, limit: String(PAGE) });
    if (after) params.set('cursor', after);
    searching = true;
    if (after) draw();
    try {
      const answer = await api(`/api/search?${params}`, { signal: controller.signal });
      if (seq !== sequence) return; // a newer query was asked meanwhile
      const page = Array.isArray(answer.results) ? answer.results : [];
      results = after ? results.concat(page) : page;
      if (!after) active = results.length ? 0 : -1;
      cursor = answer.next_cursor || null;
      indexing = Boolean(answer.indexing);
      error = '';
    } catch (failure) {
      if (failure.name === 'AbortError' || seq !== sequence) return;
      if (!after) {
        results = [];
        active = -1;
      }
      cursor = null;
      error = failure.message;
    }
    query = text;
    searching = false;
    draw(!after);
  }

  function loadMore(thenMove = false) {
    if (!cursor || searching) return;
    const from = results.length;
    run(query, cursor).then(() => {
      if (thenMove && results.length > from) highlight(from);
    });
  }

  function draw(fromTop = false) {
    note.hidden = !indexing;
    status.classList.toggle('search-error', Boolean(error));
    if (error) status.textContent = error;
    else if (searching && !results.length) status.textContent = 'Searching…';
    else if (!results.length) status.textContent = 'No conversations match.';
    else status.textContent = `${results.length}${cursor ? '+' : ''} conversation${results.length > 1 ? 's' : ''}`;
    list.replaceChildren(...results.map(option));
    more.hidden = !cursor;
    more.disabled = searching;
    more.textContent = searching && cursor ? 'Loading…' : 'Load more';
    if (fromTop) panel.scrollTop = 0;
    highlight(active);
  }

  function option(result, index) {
    const hits = Number(result.hits) || 0;
    const when = shortDate(result.created_at);
    return h('li', {
      class: 'search-result', id: `${ids}-${index}`, role: 'option', 'aria-selected': 'false',
      dataset: { threadId: result.thread_id },
      // The field keeps the focus, so the keyboard goes on working after a click.
      onmousedown: (event) => event.preventDefault(),
      onclick: () => open(index),
    },
    h('span', { class: 'search-result-head' },
      h('span', { class: 'search-result-title' }, result.title?.trim() || 'Untitled chat'),
      when ? h('time', { class: 'search-result-date', datetime: result.created_at, title: longDate(result.created_at) },
        when) : null),
    h('span', { class: 'search-snippet' }, snippet(result)),
    hits > 1 ? h('span', { class: 'search-hits' }, `${hits} matches`) : null);
  }

  function highlight(index) {
    active = index;
    [...list.children].forEach((li, i) => li.setAttribute('aria-selected', String(i === index)));
    const chosen = list.children[index];
    if (chosen) {
      input.setAttribute('aria-activedescendant', chosen.id);
      chosen.scrollIntoView({ block: 'nearest' });
    } else {
      input.removeAttribute('aria-activedescendant');
    }
  }

  function open(index) {
    const result = results[index];
    if (!result) return;
    highlight(index);
    onOpen(result);
  }

  return {
    field,
    panel,
    input,
    /** Put the caret in the field with its text selected, so typing replaces it. */
    focus() {
      input.focus();
      input.select();
    },
    clear,
  };
}

/** Segments of text, the matching ones in <mark>: text nodes only, never HTML. */
function snippet(result) {
  const segments = Array.isArray(result.snippet) ? result.snippet : [];
  return segments.map((s) => (s.hit ? h('mark', {}, String(s.text)) : String(s.text)));
}

// The server's times are ISO 8601, local time unless they say otherwise, with up to six decimals.
function parseTime(iso) {
  if (typeof iso !== 'string') return null;
  const date = new Date(iso.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(date.getTime()) ? null : date;
}

/** "just now", "5 min ago", "14:05", "Yesterday", "Tue", "Mar 4", "Mar 4, 2023". */
export function shortDate(iso, now = new Date()) {
  const date = parseTime(iso);
  if (!date) return '';
  const seconds = (now - date) / 1000;
  if (seconds > -60 && seconds < 60) return 'just now';
  if (seconds > 0 && seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  const day = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const days = Math.round((day(now) - day(date)) / 86_400_000);
  if (days === 0) return date.toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' });
  if (days === 1) return 'Yesterday';
  if (days > 1 && days < 7) return date.toLocaleDateString(undefined, { weekday: 'short' });
  const sameYear = date.getFullYear() === now.getFullYear();
  return date.toLocaleDateString(undefined, sameYear
    ? { month: 'short', day: 'numeric' }
    : { year: 'numeric', month: 'short', day: 'numeric' });
}

function longDate(iso) {
  const date = parseTime(iso);
  return date ? date.toLocaleString(undefined, { dateStyle: 'full', timeStyle: 'short' }) : '';
}

/** Calls `handler()` on Ctrl+K (⌘K on a Mac) anywhere on the page, instead of what the browser would do. */
export function onSearchKey(handler) {
  document.addEventListener('keydown', (event) => {
    if (event.key?.toLowerCase() !== 'k' || event.altKey || event.shiftKey) return;
    if (!(event.ctrlKey || event.metaKey)) return;
    event.preventDefault();
    handler();
  });
}

/**
 * The search as a dialog above the page (the ChatKit face's, whose own UI sits in a frame we cannot add to).
 * `onOpen(result)` runs after the dialog has closed. Escape, the backdrop or a chosen result close it.
 */
export function createSearchDialog({ onOpen }) {
  const search = createSearch({
    onOpen: (result) => {
      close();
      onOpen(result);
    },
    onEscape: () => close(),
  });
  const dialog = h('dialog', { class: 'search-dialog', 'aria-label': 'Search conversations' },
    search.field, search.panel);
  // Escape outside the field (on a result's scrollbar, say) closes the dialog the same way.
  dialog.addEventListener('cancel', (event) => {
    event.preventDefault();
    close();
  });
  // A click on the dim area around it closes it; one on its own padding (the dialog too, as a target) does not.
  dialog.addEventListener('click', (event) => {
    if (event.target !== dialog) return;
    const box = dialog.getBoundingClientRect();
    const inside = event.clientX >= box.left && event.clientX <= box.right
      && event.clientY >= box.top && event.clientY <= box.bottom;
    if (!inside) close();
  });
  document.body.append(dialog);

  function close() {
    search.clear();
    if (dialog.open) dialog.close();
  }

  return {
    element: dialog,
    open() {
      if (document.querySelector('dialog[open]:not(.search-dialog)')) return; // Settings is in front
      if (!dialog.open) dialog.showModal();
      search.focus();
    },
    close,
  };
}
