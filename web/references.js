// References to other conversations. In the built-in face's message box, `@` (at the start or after a space)
// opens a popup of the conversations whose titles match what follows it (GET /api/search/titles, newest
// first): ↑/↓ move, Enter or Tab choose, Escape closes. The choice becomes an `@Title` token in the text,
// tinted by a backdrop behind the message box and removed whole by Backspace; the message carries each token
// as a ChatKit tag (`input_tag`) between its text parts, from which the server gives the model that
// conversation's text. Also: how a sent message shows its tags, and the ChatKit face's tag search.

import { api } from './client.js';
import { h } from './dom.js';

const SEARCH_DELAY_MS = 120; // one request per pause in typing, not one per key
const LIMIT = 8;
const GROUP = 'Conversations';
const UNTITLED = 'Untitled chat';
// The `@` being typed: at the start or after white space, then up to 60 characters on its line (titles have
// spaces, so a space does not end the query; an unanswered query with a space in it closes the popup).
const TRIGGER = /(^|\s)@((?:[^\s@][^\n@]{0,59})?)$/;
const WORD_CHAR = /[\p{L}\p{N}_]/u;
const LISTBOX_ID = 'reference-options';

/** Conversations whose titles match `query` (prefix words; empty → the newest), newest first. */
export async function searchTitles(query, { limit = LIMIT, signal } = {}) {
  const params = new URLSearchParams({ q: query, limit: String(limit) });
  const { results } = await api(`/api/search/titles?${params}`, { signal });
  return results;
}

/**
 * The ChatKit face's tag search (`entities.onTagSearch`): matching conversations as ChatKit's entities. A
 * failure offers nothing rather than an error in the middle of typing.
 * @param {string} query
 * @returns {Promise<import('@openai/chatkit').Entity[]>}
 */
export async function conversationEntities(query) {
  try {
    const results = await searchTitles(query);
    return results.map((r) => ({ id: r.thread_id, title: titleOf(r), group: GROUP, data: { thread_id: r.thread_id } }));
  } catch {
    return [];
  }
}

function titleOf(result) {
  return result.title?.trim() || UNTITLED;
}

/** A referenced conversation as the tag a message carries (ChatKit's `UserMessageTagContent`). */
export function tagOf({ thread_id: threadId, title }) {
  return { type: 'input_tag', id: threadId, text: title, data: { thread_id: threadId }, interactive: false };
}

/**
 * A sent question's content for its bubble: text as text, each tag as a styled `@Title`, which opens that
 * conversation (`onOpen(threadId)`) when given.
 */
export function messageContent(item, onOpen) {
  return (item.content || []).map((part) => {
    if (part.type !== 'input_tag') return part.text || '';
    const label = `@${part.text}`;
    const threadId = part.data?.thread_id || part.id;
    if (!onOpen || !threadId) return h('span', { class: 'ref' }, label);
    return h('button', { type: 'button', class: 'ref', title: 'Open this conversation',
      onclick: () => onOpen(threadId) }, label);
  });
}

/**
 * Where the chosen conversations' tokens are in `text`: [{start, end, ref}], in order. A token is `@` and the
 * exact title, at the start or after white space and not running on into a word; the longest title wins when
 * one is the start of another.
 */
export function tokensIn(text, refs) {
  const longestFirst = [...refs].sort((a, b) => b.token.length - a.token.length);
  const found = [];
  for (let i = text.indexOf('@'); i !== -1; i = text.indexOf('@', i + 1)) {
    if (i > 0 && !/\s/.test(text[i - 1])) continue;
    const ref = longestFirst.find((r) => text.startsWith(r.token, i)
      && !WORD_CHAR.test(text.charAt(i + r.token.length)));
    if (!ref) continue;
    found.push({ start: i, end: i + ref.token.length, ref });
    i += ref.token.length - 1;
  }
  return found;
}

/**
 * A message's content: its text in `input_text` parts with a tag where each token was, in order. White space
 * alone before the first or after the last tag is left out; a message without tokens is one text part (none
 * when it is blank), as before references existed.
 */
export function contentOf(text, refs) {
  const tokens = tokensIn(text, refs);
  if (!tokens.length) return text.trim() ? [{ type: 'input_text', text }] : [];
  const parts = [];
  let from = 0;
  for (const { start, end, ref } of tokens) {
    if (start > from) parts.push({ type: 'input_text', text: text.slice(from, start) });
    parts.push(tagOf(ref));
    from = end;
  }
  if (from < text.length) parts.push({ type: 'input_text', text: text.slice(from) });
  const blank = (part) => part.type === 'input_text' && !part.text.trim();
  while (parts.length && blank(parts[0])) parts.shift();
  while (parts.length && blank(parts[parts.length - 1])) parts.pop();
  return parts;
}

// What the backdrop copies from the message box, so its text lies exactly under the box's own.
const MIRRORED = ['fontFamily', 'fontSize', 'fontWeight', 'fontStyle', 'lineHeight', 'letterSpacing',
  'wordSpacing', 'tabSize', 'textIndent', 'textTransform', 'whiteSpace', 'overflowWrap', 'wordBreak',
  'paddingTop', 'paddingRight', 'paddingBottom', 'paddingLeft'];

/**
 * The composer's references over its message box. `field` wraps the box (put it where the box was), `popup`
 * goes in the composer, `button` inserts an `@`. The composer calls `sync()` after the text or the caret
 * moved, gives `onKeydown(event)` each key first (true: it was taken), and sends `content()`.
 */
export function createReferences({ textarea }) {
  const refs = []; // {thread_id, title, token}: chosen since the last message was sent
  const backdrop = h('div', { class: 'ref-backdrop', 'aria-hidden': 'true', hidden: true });
  const field = h('div', { class: 'composer-field' }, backdrop, textarea);
  const listbox = h('ul', { id: LISTBOX_ID, class: 'ref-options', role: 'listbox',
    'aria-label': 'Conversations to reference' });
  const note = h('p', { class: 'ref-note', hidden: true });
  const popup = h('div', { class: 'ref-popup', hidden: true }, listbox, note);
  const button = h('button', { type: 'button', class: 'icon-button ref-button',
    'aria-label': 'Reference a conversation', title: 'Reference a conversation (@)', onclick: () => typeAt() }, '@');
  textarea.setAttribute('aria-autocomplete', 'list');
  textarea.setAttribute('aria-controls', LISTBOX_ID);

  let trigger = null; // {at, query}: the `@` being typed (its index) and what follows it up to the caret
  let dismissed = -1; // the index of the `@` whose popup Escape closed: it stays closed while typing on
  let results = [];
  let active = -1;
  let timer = 0;
  let controller = null;
  let unanswered = null; // {at, query} that found nothing: longer queries there find nothing either

  function triggerAtCaret() {
    const { value, selectionStart, selectionEnd } = textarea;
    if (selectionStart !== selectionEnd || textarea.readOnly) return null;
    const match = TRIGGER.exec(value.slice(0, selectionStart));
    if (!match) return null;
    const at = selectionStart - match[2].length - 1;
    // The `@` of a chosen token: the user is writing on after it.
    if (tokensIn(value, refs).some((token) => token.start === at)) return null;
    return { at, query: match[2] };
  }

  /** Follow the text and the caret: open, update or close the popup, and tint the tokens. */
  function sync() {
    paint();
    const next = triggerAtCaret();
    if (!next) {
      dismissed = -1;
      close();
      return;
    }
    if (next.at === dismissed) return;
    if (trigger && next.at === trigger.at && next.query === trigger.query) return;
    trigger = next;
    clearTimeout(timer);
    if (unanswered && next.at === unanswered.at && next.query.startsWith(unanswered.query)) {
      show([], next.query);
      return;
    }
    timer = setTimeout(() => search(next), SEARCH_DELAY_MS);
  }

  async function search(asked) {
    controller?.abort();
    controller = new AbortController();
    let found;
    try {
      // Enough to offer LIMIT after leaving out those already referenced (the server gives at most 20).
      const limit = Math.min(20, LIMIT + refs.length);
      found = await searchTitles(asked.query, { limit, signal: controller.signal });
    } catch (error) {
      if (error.name !== 'AbortError' && trigger === asked) showNote(error.message);
      return;
    }
    if (trigger !== asked) return; // the user typed on meanwhile
    // A conversation already referenced in this message is not offered again.
    const taken = new Set(tokensIn(textarea.value, refs).map((token) => token.ref.thread_id));
    const offered = found.filter((r) => !taken.has(r.thread_id)).slice(0, LIMIT);
    unanswered = offered.length ? null : asked;
    show(offered, asked.query);
  }

  function show(found, query) {
    results = found;
    if (!found.length) {
      // After a space the user is more likely writing on than naming a conversation: no popup then.
      if (/\s/.test(query)) close();
      else showNote(query ? `No conversation's title matches “${query}”.` : 'No earlier conversations yet.');
      return;
    }
    listbox.replaceChildren(...found.map((r, index) => h('li', {
      id: `${LISTBOX_ID}-${index}`, role: 'option', class: 'ref-option', 'aria-selected': 'false', title: titleOf(r),
      onmousedown: (event) => event.preventDefault(), // the message box keeps the focus
      onmousemove: () => setActive(index),
      onclick: () => choose(index),
    }, h('span', { class: 'ref-option-title' }, titleOf(r)), h('span', { class: 'ref-option-date' }, dateOf(r)))));
    listbox.hidden = false;
    note.hidden = true;
    popup.hidden = false;
    setActive(0);
  }

  function showNote(text) {
    results = [];
    listbox.replaceChildren();
    listbox.hidden = true;
    note.textContent = text;
    note.hidden = false;
    popup.hidden = false;
    textarea.removeAttribute('aria-activedescendant');
  }

  function setActive(index) {
    active = index;
    [...listbox.children].forEach((option, i) => option.setAttribute('aria-selected', String(i === index)));
    const option = listbox.children[index];
    if (!option) return;
    textarea.setAttribute('aria-activedescendant', option.id);
    option.scrollIntoView({ block: 'nearest' });
  }

  function close() {
    clearTimeout(timer);
    controller?.abort();
    trigger = null;
    results = [];
    listbox.replaceChildren();
    popup.hidden = true;
    textarea.removeAttribute('aria-activedescendant');
  }

  /** Replace `@query` with the chosen title's token (and a space after it, to write on). */
  function choose(index) {
    const result = results[index];
    if (!result || !trigger) return;
    const title = titleOf(result);
    const token = `@${title}`;
    // One reference per token: a second conversation of the same title takes the first one's place.
    const same = refs.findIndex((r) => r.token === token);
    if (same !== -1) refs.splice(same, 1);
    refs.push({ thread_id: result.thread_id, title, token });
    const { at } = trigger;
    const caret = textarea.selectionStart;
    const spaced = /^\s/.test(textarea.value.slice(caret)) ? '' : ' ';
    close();
    replace(at, caret, token + spaced);
  }

  // Through the editing commands, so that Ctrl+Z undoes a choice or a removal like any typing; they fire the
  // box's `input` event, which syncs the composer.
  function replace(start, end, text) {
    textarea.focus();
    textarea.setSelectionRange(start, end);
    const done = text ? document.execCommand('insertText', false, text) : document.execCommand('delete');
    if (done) return;
    textarea.setRangeText(text, start, end, 'end');
    textarea.dispatchEvent(new Event('input', { bubbles: true }));
  }

  /** The button's `@`: typed at the caret (after a space if needed), which opens the popup. */
  function typeAt() {
    if (textarea.readOnly) return;
    const { selectionStart: start, selectionEnd: end, value } = textarea;
    replace(start, end, start > 0 && !/\s/.test(value[start - 1]) ? ' @' : '@');
  }

  function onKeydown(event) {
    if (event.isComposing || textarea.readOnly) return false;
    const open = !popup.hidden;
    if (open && results.length) {
      const step = { ArrowDown: 1, ArrowUp: -1 }[event.key];
      if (step && !event.shiftKey && !event.altKey) {
        setActive((active + step + results.length) % results.length);
        return take(event);
      }
      if ((event.key === 'Enter' && !event.shiftKey) || (event.key === 'Tab' && !event.shiftKey)) {
        choose(active);
        return take(event);
      }
    }
    if (trigger && event.key === 'Escape') {
      dismissed = trigger.at;
      close();
      if (!open) return false; // a search not shown yet is dropped; the key does what it does anyway
      event.stopPropagation(); // Escape closed the popup, not the sidebar too
      return take(event);
    }
    if ((event.key === 'Backspace' || event.key === 'Delete') && !event.ctrlKey && !event.altKey
      && !event.metaKey) {
      const { selectionStart: caret, selectionEnd } = textarea;
      if (caret !== selectionEnd) return false;
      const back = event.key === 'Backspace';
      const token = tokensIn(textarea.value, refs).find(({ start, end }) => (back
        ? start < caret && caret <= end : start <= caret && caret < end));
      if (!token) return false;
      replace(token.start, token.end, ''); // a token goes whole: half a title would reference nothing
      return take(event);
    }
    return false;
  }

  function take(event) {
    event.preventDefault();
    return true;
  }

  // The tokens' tint: a copy of the text behind the (transparent) message box, with each token marked.
  function paint() {
    const tokens = refs.length ? tokensIn(textarea.value, refs) : [];
    backdrop.hidden = !tokens.length;
    if (!tokens.length) {
      backdrop.replaceChildren();
      return;
    }
    const text = textarea.value;
    const pieces = [];
    let from = 0;
    for (const { start, end } of tokens) {
      pieces.push(text.slice(from, start), h('mark', { class: 'ref-token' }, text.slice(start, end)));
      from = end;
    }
    pieces.push(`${text.slice(from)} `); // a final newline still makes a line, as in the box
    backdrop.replaceChildren(...pieces);
    const style = getComputedStyle(textarea);
    for (const name of MIRRORED) backdrop.style[name] = style[name];
    // clientWidth leaves out a scroll bar, so the copy wraps its lines where the box does.
    Object.assign(backdrop.style, {
      top: `${textarea.clientTop}px`, left: `${textarea.clientLeft}px`,
      width: `${textarea.clientWidth}px`, height: `${textarea.clientHeight}px`,
    });
    backdrop.scrollTop = textarea.scrollTop;
  }

  textarea.addEventListener('scroll', () => {
    backdrop.scrollTop = textarea.scrollTop;
  });
  textarea.addEventListener('blur', () => close());

  return {
    field,
    popup,
    button,
    sync,
    onKeydown,
    /** The message's content for the text in the box (see contentOf). */
    content: () => contentOf(textarea.value, refs),
    /** Forget the chosen conversations (the message was sent). */
    clear() {
      refs.length = 0;
      unanswered = null;
      close();
      paint();
    },
  };
}

const DAY = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const DAY_YEAR = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });

// When the conversation began, short: "Nov 30", with the year when it is not this one's.
function dateOf(result) {
  const date = new Date(result.created_at);
  if (Number.isNaN(date.getTime())) return '';
  return (date.getFullYear() === new Date().getFullYear() ? DAY : DAY_YEAR).format(date);
}
