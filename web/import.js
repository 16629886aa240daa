// Import, the same in both faces: the part of Settings → "Your data" that brings conversations in from a ChatGPT
// or Claude data export, a ChatKit Desktop backup or one exported conversation. A chosen (or dropped) file is
// checked against the server's size limit, sent with upload progress, then followed while the server imports
// it (progress, Stop) until its summary; the faces hear of a finished import to reload their conversation list.

import { api, upload } from './client.js';
import { formatSize, h, icon, toast } from './dom.js';

const POLL_MS = 400;
const ACCEPT = '.zip,.json';
const NUMBER = new Intl.NumberFormat('en-US');
const ALREADY_RUNNING = 'An import is already running; wait for it to finish or stop it.';

let part = null; // the one import part, made by Settings' "Your data" section
const listeners = new Set();

/** Call `listener(state)` whenever an import this page followed has ended (finished, failed or stopped). */
export function onImported(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Whether a file's name says it may be an export (.zip or .json); the server decides from its bytes. */
export function looksImportable(file) {
  return /\.(zip|json)$/i.test(file?.name || '');
}

/** Whether a file is a .zip (which cannot be attached to a message, so a drop of one means an import). */
export function isZip(file) {
  return /\.zip$/i.test(file?.name || '') || /^application\/(x-)?zip(-compressed)?$/.test(file?.type || '');
}

/**
 * Import `file` in Settings' "Your data" section: the import starts at once, then `open()` (which opens the
 * Settings dialog) is awaited and the section scrolled into view, so progress and summary show in one place.
 */
export async function importFile(file, { open } = {}) {
  if (!part) {
    toast('Import is not available yet.');
    return;
  }
  part.start(file);
  if (open) await open();
  part.element.scrollIntoView({ block: 'nearest' });
}

function count(n, one, many = `${one}s`) {
  return `${NUMBER.format(n)} ${n === 1 ? one : many}`;
}

/**
 * The import part of "Your data", made once (an import keeps going while the dialog is closed and reopened).
 * Returns `{element, refresh(), start(file)}`; `refresh` reads the import's state from the server.
 */
export function createImportPart() {
  let phase = 'idle'; // idle | checking | sending | reading | running | stopping | ended
  let polling = null;
  let sending = null; // the AbortController of the upload under way
  let following = false; // an import seen running here: its end is announced
  let lastDone = 0; // conversations written, as last seen while running

  const input = h('input', { type: 'file', accept: ACCEPT, class: 'import-input', hidden: true, tabindex: '-1',
    'aria-hidden': 'true', onchange: () => {
      const [file] = input.files;
      input.value = ''; // choosing the same file again must fire `change` again
      if (file) start(file);
    } });
  const button = h('button', { type: 'button', class: 'button small', onclick: () => input.click() },
    icon('download'), 'Import…');
  const stopButton = h('button', { type: 'button', class: 'button small quiet', hidden: true, onclick: () => stop() },
    'Stop');
  const bar = h('progress', { class: 'import-progress', max: 1, value: 0, 'aria-label': 'Import progress',
    hidden: true });
  const status = h('p', { class: 'import-status', role: 'status' });
  const details = h('ul', { class: 'import-details', hidden: true });
  const problem = h('p', { class: 'import-problem', role: 'alert' }); // why a file was not taken

  const element = h('div', { class: 'field import' },
    h('div', { class: 'data-row' }, button, stopButton, input),
    h('p', { class: 'hint' },
      'Bring in conversations from a ChatGPT or Claude data export (the .zip, or the conversations.json inside ' +
        'it), a ChatKit Desktop backup, or a conversation exported as JSON.'),
    bar,
    problem,
    status,
    details);

  function setPhase(next) {
    phase = next;
    const busy = !['idle', 'ended'].includes(next);
    button.disabled = busy;
    // While the server reads the file it has received, its answer is awaited: there is nothing to stop yet.
    stopButton.hidden = !['sending', 'running', 'stopping'].includes(next);
    stopButton.disabled = next === 'stopping';
    bar.hidden = !['sending', 'reading', 'running', 'stopping'].includes(next);
    element.classList.toggle('busy', busy);
  }

  function say(text, { bad = false } = {}) {
    status.textContent = text;
    status.classList.toggle('bad', bad);
    details.replaceChildren();
    details.hidden = true;
  }

  /** A file that was not taken: its sentence, and the section back to where it was. */
  function refuse(message) {
    setPhase(following ? 'running' : 'ended');
    problem.textContent = message;
  }

  function showRunning(state) {
    const total = state.total || 0;
    const done = Math.min(state.done || 0, total || Infinity);
    lastDone = done;
    if (total) {
      bar.max = total;
      bar.value = done;
    } else {
      bar.removeAttribute('value');
    }
    if (phase === 'stopping') {
      say('Stopping after the conversation being written…');
    } else {
      say(total ? `Importing… ${NUMBER.format(done)} of ${count(total, 'conversation')}` : 'Importing…');
    }
  }

  function showSummary(summary) {
    say(summary.sentence || 'The import is complete.');
    const lines = [...(summary.notes || [])];
    const failed = summary.failed || { count: 0, examples: [] };
    for (const example of failed.examples || []) {
      lines.push(`${example.title?.trim() || 'Untitled conversation'} — ${example.reason}`);
    }
    const unlisted = (failed.count || 0) - (failed.examples || []).length;
    if (unlisted > 0) lines.push(`… and ${count(unlisted, 'other')} that could not be read.`);
    details.replaceChildren(...lines.map((line) => h('li', {}, line)));
    details.hidden = !lines.length;
  }

  /** Show a state the server answered; returns whether the import is still running. */
  function show(state) {
    if (state.state === 'running') {
      if (phase !== 'stopping') setPhase('running');
      following = true;
      showRunning(state);
      return true;
    }
    if (!following) return false; // idle, or the end of an import this page did not see: nothing to say
    following = false;
    const stopped = phase === 'stopping';
    setPhase('ended');
    if (state.state === 'done' && state.summary) {
      showSummary(state.summary);
    } else if (state.state === 'failed') {
      say(state.error || 'The import failed.', { bad: true });
    } else if (stopped) {
      const done = state.done || lastDone;
      say(`Import stopped: ${count(done, 'conversation')} ${done === 1 ? 'was' : 'were'} imported. ` +
        'Importing the same file again completes it.');
    } else {
      say('The import has ended.');
    }
    for (const listener of listeners) {
      try {
        listener(state);
      } catch (error) {
        console.error(error);
      }
    }
    return false;
  }

  function stopPolling() {
    clearTimeout(polling);
    polling = null;
  }

  async function poll() {
    stopPolling();
    let state;
    try {
      state = await api('/api/import');
    } catch (error) {
      if (following) polling = setTimeout(poll, POLL_MS * 5); // the server may come back; keep the progress shown
      if (following) say(error.message, { bad: true });
      return;
    }
    if (show(state)) polling = setTimeout(poll, POLL_MS);
  }

  async function start(file) {
    problem.textContent = '';
    if (!['idle', 'ended'].includes(phase)) {
      problem.textContent = ALREADY_RUNNING;
      return;
    }
    stopPolling();
    setPhase('checking');
    say(`Checking ${file.name}…`);
    let state;
    try {
      state = await api('/api/import');
    } catch (error) {
      say('');
      refuse(error.message);
      return;
    }
    if (state.state === 'running') {
      // Another import (from the command line, or another window) runs: it is shown instead.
      following = true;
      refuse(ALREADY_RUNNING);
      show(state);
      polling = setTimeout(poll, POLL_MS);
      return;
    }
    if (state.max_bytes && file.size > state.max_bytes) {
      say('');
      refuse(`${file.name} is larger than ${formatSize(state.max_bytes)}, the most an import can take: import ` +
        'the conversations.json from inside the export on its own.');
    } else if (file.size === 0) {
      say('');
      refuse(`${file.name} is empty.`);
    } else {
      await send(file);
    }
  }

  async function send(file) {
    setPhase('sending');
    sending = new AbortController();
    bar.max = 1;
    bar.value = 0;
    say('Sending the file… 0 %');
    let state;
    try {
      state = await upload(
        { url: `/api/import?name=${encodeURIComponent(file.name)}`, method: 'POST',
          headers: { 'Content-Type': 'application/octet-stream' } },
        file,
        { signal: sending.signal, onProgress: progress },
      );
    } catch (error) {
      sending = null;
      if (error.name === 'AbortError') {
        setPhase('ended');
        say('Import cancelled: the file was not sent.');
        return;
      }
      say('');
      refuse(error.message);
      if (error.status === 409) {
        following = true; // another import runs: follow it
        poll();
      }
      return;
    }
    sending = null;
    following = true;
    if (show(state)) polling = setTimeout(poll, POLL_MS);
  }

  function progress(fraction) {
    if (phase !== 'sending') return;
    if (fraction >= 1) {
      setPhase('reading');
      bar.removeAttribute('value'); // the server reads and recognises the file: no measure of that
      say('Reading the file…');
      return;
    }
    bar.value = fraction;
    say(`Sending the file… ${Math.floor(fraction * 100)} %`);
  }

  async function stop() {
    if (sending) {
      sending.abort();
      return;
    }
    setPhase('stopping');
    say('Stopping after the conversation being written…');
    stopPolling();
    try {
      const state = await api('/api/import', { method: 'DELETE' });
      if (state.state === 'running') polling = setTimeout(poll, POLL_MS);
      else show(state);
    } catch (error) {
      setPhase('running');
      say(error.message, { bad: true });
      polling = setTimeout(poll, POLL_MS);
    }
  }

  part = {
    element,
    start,
    /** Read the import's state (a running one is shown and followed). */
    refresh() {
      if (['idle', 'ended'].includes(phase) && !polling) poll();
    },
  };
  return part;
}
