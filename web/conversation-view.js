// The built-in face's message area: draws the conversation's entries (questions as text with their references and
// attachments, answers as safe Markdown with copy and retry, a model's reasoning folded away above its answer),
// the start screen, "Loading…" and the error line
// with its Retry button, and keeps the view at the newest message while the reader is there. A message
// opened from a search result is scrolled to and lit up for a moment (`reveal`).

import { h, icon, toast } from './dom.js';
import { messageAttachments } from './attachments-view.js';
import { renderMarkdown } from './markdown.js';
import { GREETING, PROMPTS } from './starters.js';
import { textOf, thoughtsOf } from './conversation-stream.js';
import { messageContent } from './references.js';

const REDUCED_MOTION = matchMedia('(prefers-reduced-motion: reduce)');
/** How long a revealed message stays lit: the `flash` animation's length in style.css. */
const FLASH_MS = 2400;

/**
 * `onPrompt(text)` puts a starter prompt in the composer; `onRetry(entry)` answers that entry again;
 * `onReference(threadId)` opens a conversation a question references.
 */
export function createConversationView({ onPrompt, onRetry, onReference }) {
  const messages = h('div', { class: 'messages-inner' });
  const scroller = h('div', { class: 'messages', role: 'log', 'aria-live': 'polite', 'aria-label': 'Messages' }, messages);
  // An entry's elements, kept beside the data so the conversation itself stays plain data.
  const nodes = new WeakMap();
  let error = null;
  let flashing = null; // the message lit up by reveal(), and when it goes dark
  let flashTimer = 0;

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
          h('button', { type: 'button', class: 'prompt', onclick: () => onPrompt(p.prompt) }, p.label)))),
    );
  }

  function showLoading() {
    messages.append(h('p', { class: 'loading' }, 'Loading…'));
  }

  function render(entry) {
    const { item } = entry;
    const parts = nodes.get(entry);
    parts.el.dataset.id = item.id || '';
    // The saved item's id, which search results name (`item_id`); none while the message is being sent.
    if (item.id) parts.el.dataset.itemId = item.id;
    else delete parts.el.dataset.itemId;
    if (item.type === 'user_message') {
      renderQuestion(item, parts);
      return;
    }
    if (item.type === 'workflow') {
      parts.label.textContent = entry.pending ? 'Thinking…' : 'Thought';
      parts.thoughts.replaceChildren(renderMarkdown(thoughtsOf(item)));
      return;
    }
    const text = textOf(item);
    if (!text && entry.pending) {
      parts.md.replaceChildren(h('span', { class: 'typing', 'aria-label': 'Answering' }, h('i'), h('i'), h('i')));
    } else {
      parts.md.replaceChildren(renderMarkdown(text));
    }
    parts.stoppedNote.hidden = !entry.stopped;
  }

  // The attachments are drawn again only when they change: the saved question that replaces the one shown at
  // send time has the same ones, and its pictures must not blink.
  function renderQuestion(item, parts) {
    const text = textOf(item);
    const attachments = item.attachments || [];
    parts.bubble.replaceChildren(...messageContent(item, onReference)); // its references as `@Title`
    parts.bubble.hidden = !text && attachments.length > 0;
    const key = attachments.map((a) => a.id).join(' ');
    if (key === parts.attachmentsKey) return;
    parts.attachmentsKey = key;
    parts.files.replaceChildren(...(attachments.length ? [messageAttachments(attachments)] : []));
  }

  // Deltas arrive faster than the screen redraws: an answer is drawn at most once a frame.
  function scheduleRender(entry) {
    const parts = nodes.get(entry);
    if (parts.frame) return;
    parts.frame = requestAnimationFrame(() => {
      parts.frame = 0;
      const stick = nearBottom();
      render(entry);
      if (stick) scrollDown(true);
    });
  }

  /** Show an entry: last, or ahead of the entry `before` when it is given (a thought before its answer). */
  function add(entry, before = null) {
    messages.querySelector('.empty')?.remove();
    let parts;
    if (entry.item.type === 'workflow') {
      // Folded by default: the reasoning is there for whoever wants it, not in the way of the answer.
      const label = h('span', { class: 'reasoning-label' });
      const thoughts = h('div', { class: 'md reasoning-text' });
      parts = { label, thoughts,
        el: h('details', { class: 'msg msg-reasoning' }, h('summary', {}, icon('chevron'), label), thoughts) };
    } else if (entry.item.type === 'user_message') {
      const bubble = h('div', { class: 'bubble' });
      const files = h('div', { class: 'msg-files' });
      parts = { bubble, files, attachmentsKey: '', el: h('div', { class: 'msg msg-user' }, files, bubble) };
    } else {
      const md = h('div', { class: 'md' });
      const copy = h('button', { type: 'button', class: 'icon-button small copy', 'aria-label': 'Copy answer',
        title: 'Copy', onclick: () => copyAnswer(entry, copy) }, icon('copy'));
      const retry = h('button', { type: 'button', class: 'icon-button small retry', 'aria-label': 'Retry answer',
        title: 'Retry', hidden: true, onclick: () => onRetry(entry) }, icon('retry'));
      const stoppedNote = h('span', { class: 'stopped-note', hidden: true }, 'Stopped');
      const actions = h('div', { class: 'msg-actions' }, stoppedNote, copy, retry);
      parts = { md, actions, retry, stoppedNote, el: h('div', { class: 'msg msg-assistant' }, md, actions) };
    }
    nodes.set(entry, parts);
    const next = before && nodes.get(before)?.el;
    if (next?.parentNode === messages) messages.insertBefore(parts.el, next);
    else messages.append(parts.el);
    render(entry);
    scrollDown(true);
  }

  /** Redraw an entry whose item changed: a question at once, an answer on the next frame. */
  function update(entry) {
    if (entry.item.type === 'user_message') render(entry);
    else scheduleRender(entry);
  }

  function remove(entry) {
    nodes.get(entry).el.remove();
  }

  /** Retry only on the last answer, once saved, and never while answering or in a read-only conversation. */
  function updateActions(entries, { locked, streaming }) {
    const last = entries[entries.length - 1];
    for (const entry of entries) {
      const parts = nodes.get(entry);
      if (!parts.retry) continue;
      parts.retry.hidden = locked || streaming || entry !== last || !entry.item.id;
      parts.actions.hidden = entry.pending && !textOf(entry.item);
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

  /** Scroll to the message whose saved id is `itemId` and light it up briefly; false if it is not shown. */
  function reveal(itemId) {
    const el = [...messages.children].find((child) => child.dataset.itemId === itemId);
    if (!el) return false;
    el.scrollIntoView({ block: 'center', behavior: REDUCED_MOTION.matches ? 'auto' : 'smooth' });
    clearTimeout(flashTimer);
    flashing?.classList.remove('flash');
    void el.offsetWidth; // restarts the animation when the same message is revealed again
    el.classList.add('flash');
    flashing = el;
    flashTimer = setTimeout(() => el.classList.remove('flash'), FLASH_MS);
    return true;
  }

  function showError(message, retry) {
    clearError();
    error = h('div', { class: 'msg-error', role: 'alert' },
      h('p', {}, message),
      h('button', { type: 'button', class: 'button small', onclick: () => {
        clearError();
        retry();
      } }, icon('retry'), 'Retry'));
    messages.append(error);
    scrollDown(true);
  }

  function clearError() {
    error?.remove();
    error = null;
  }

  return {
    element: scroller,
    hasError: () => Boolean(error),
    clear() {
      clearError();
      messages.replaceChildren();
    },
    showEmpty,
    showLoading,
    add,
    update,
    render,
    remove,
    updateActions,
    showError,
    clearError,
    scrollDown,
    reveal,
  };
}
