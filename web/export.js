// Export, the same in both faces: one conversation downloaded as Markdown (a .zip when it has attachments) or
// as its JSON file, or copied to the clipboard as Markdown; the small menu that offers these three; and the
// Settings section "Your data": a full backup written by the server (with progress, cancellable) and then
// downloaded, import (import.js), and opening the data folder in the system's file manager.

import { api, authFetch } from './client.js';
import { formatSize, h, icon, toast } from './dom.js';
import { createImportPart } from './import.js';

const UNREACHABLE = 'ChatKit Desktop is not answering — is the app still running?';
const POLL_MS = 400;

/** The file name a `Content-Disposition` header gives (`filename*=UTF-8''…` first), or `fallback`. */
function fileNameOf(response, fallback) {
  const header = response.headers.get('Content-Disposition') || '';
  const encoded = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(header);
  if (encoded) {
    try {
      return decodeURIComponent(encoded[1].trim());
    } catch {
      // a malformed name: try the plain one
    }
  }
  const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(header);
  return plain ? plain[1].trim() : fallback;
}

/** Hand a Blob to the browser as a download named `name`. */
function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = h('a', { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}

/** GET `path` with the token and download the answer under the server's file name; rejects with its sentence. */
async function download(path, fallback) {
  let response;
  try {
    response = await authFetch(path);
  } catch {
    throw new Error(UNREACHABLE);
  }
  if (!response.ok) {
    let message = '';
    try {
      message = (await response.json())?.error || '';
    } catch {
      // not JSON
    }
    throw new Error(message || `The app answered with an error (HTTP ${response.status}).`);
  }
  saveBlob(await response.blob(), fileNameOf(response, fallback));
}

/** Download conversation `id` as `format` ('markdown' or 'json'); problems become a toast. */
export async function exportThread(id, format) {
  try {
    await download(`/api/threads/${encodeURIComponent(id)}/export?format=${format}`,
      format === 'json' ? 'conversation.json' : 'conversation.md');
  } catch (error) {
    toast(error.message);
  }
}

/** Put conversation `id` on the clipboard as Markdown; says "Copied" or why not. */
export async function copyThreadMarkdown(id) {
  try {
    const { markdown } = await api(`/api/threads/${encodeURIComponent(id)}/markdown`);
    await navigator.clipboard.writeText(markdown);
    toast('Copied', { kind: 'note', timeout: 2000 });
  } catch (error) {
    toast(error.name === 'NotAllowedError' ? 'The clipboard could not be written to.' : error.message);
  }
}

// ---- the menu: one open at a time, placed under its button, keyboard as in a menu ----

let openMenu = null;

function closeMenu({ focus = false } = {}) {
  if (!openMenu) return;
  const { menu, anchor, cleanup } = openMenu;
  openMenu = null;
  cleanup();
  menu.remove();
  anchor.setAttribute('aria-expanded', 'false');
  if (focus && anchor.isConnected) anchor.focus();
}

function showMenu(anchor, threadId) {
  const run = (action) => () => {
    closeMenu({ focus: true });
    action(threadId);
  };
  const item = (label, action) =>
    h('button', { type: 'button', role: 'menuitem', class: 'menu-item', tabindex: -1, onclick: run(action) }, label);
  const items = [
    item('Export as Markdown', (id) => exportThread(id, 'markdown')),
    item('Export as JSON', (id) => exportThread(id, 'json')),
    item('Copy as Markdown', (id) => copyThreadMarkdown(id)),
  ];
  const menu = h('div', { class: 'menu export-menu', role: 'menu', 'aria-label': 'Export' }, items);
  menu.addEventListener('keydown', (event) => {
    const index = items.indexOf(document.activeElement);
    const move = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: items.length - 1 }[event.key];
    if (move !== undefined) {
      event.preventDefault();
      items[(move + items.length) % items.length].focus();
    } else if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation(); // a menu inside a dialog closes, not the dialog
      closeMenu({ focus: true });
    } else if (event.key === 'Tab') {
      closeMenu({ focus: true });
    }
  });
  const outside = (event) => {
    if (!menu.contains(event.target) && !anchor.contains(event.target)) closeMenu();
  };
  const away = () => closeMenu();
  document.addEventListener('pointerdown', outside, true);
  window.addEventListener('resize', away);
  document.addEventListener('scroll', away, true);
  (anchor.closest('dialog') || document.body).append(menu);
  // Under the button, its right edges aligned, kept inside the window.
  const box = anchor.getBoundingClientRect();
  const width = menu.offsetWidth;
  const height = menu.offsetHeight;
  const left = Math.max(8, Math.min(box.right - width, innerWidth - width - 8));
  const below = box.bottom + 4;
  const top = below + height > innerHeight - 8 ? Math.max(8, box.top - height - 4) : below;
  menu.style.left = `${left}px`;
  menu.style.top = `${top}px`;
  anchor.setAttribute('aria-expanded', 'true');
  openMenu = {
    menu,
    anchor,
    cleanup() {
      document.removeEventListener('pointerdown', outside, true);
      window.removeEventListener('resize', away);
      document.removeEventListener('scroll', away, true);
    },
  };
  items[0].focus();
}

/**
 * A small button that opens the export menu for the conversation `threadId()` names (read when it opens).
 * `label` is its accessible name; `className` adds classes (e.g. `icon-button small`).
 */
export function exportButton({ threadId, label = 'Export conversation', className = 'icon-button small' }) {
  const button = h('button', {
    type: 'button', class: `${className} export`, 'aria-label': label, title: 'Export', 'aria-haspopup': 'menu',
    'aria-expanded': 'false',
  }, icon('download'));
  button.addEventListener('click', () => {
    const mine = openMenu?.anchor === button;
    closeMenu();
    const id = threadId();
    if (!mine && id) showMenu(button, id);
  });
  button.addEventListener('keydown', (event) => {
    if (event.key === 'ArrowDown' && !openMenu) {
      event.preventDefault();
      const id = threadId();
      if (id) showMenu(button, id);
    }
  });
  return button;
}

// ---- Settings: "Your data" ----

function today() {
  const now = new Date();
  const pad = (n) => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/**
 * The "Your data" section of Settings, made once (a backup keeps going while the dialog is closed and
 * reopened). Returns `{element, refresh()}`; `refresh` reads the backup's state from the server.
 */
export function createDataSection() {
  let polling = null;
  let mine = false; // a backup this page started: it is downloaded when ready

  const exportAll = h('button', { type: 'button', class: 'button small', onclick: () => start() },
    icon('download'), 'Export everything');
  const cancel = h('button', { type: 'button', class: 'button small quiet', hidden: true, onclick: () => stop() },
    'Cancel');
  const bar = h('progress', { class: 'backup-progress', max: 1, value: 0, 'aria-label': 'Backup progress',
    hidden: true });
  const status = h('p', { class: 'backup-status', role: 'status' });
  const openFolder = h('button', { type: 'button', class: 'button small', onclick: () => reveal() },
    'Open data folder');
  const folderResult = h('p', { class: 'folder-result', role: 'status' });
  const importer = createImportPart();

  const element = h('section', { class: 'section your-data', 'aria-labelledby': 'your-data-title' },
    h('h3', { id: 'your-data-title' }, 'Your data'),
    h('div', { class: 'field' },
      h('div', { class: 'data-row' }, exportAll, cancel),
      h('p', { class: 'hint' },
        'One .zip with every conversation, attachment and setting (never your API keys). Unzip it into an empty ' +
          'data folder to restore everything.'),
      bar,
      status),
    importer.element,
    h('div', { class: 'field' },
      h('div', { class: 'data-row' }, openFolder),
      folderResult));

  function show(state) {
    const running = state.state === 'running';
    exportAll.disabled = running;
    cancel.hidden = !running;
    bar.hidden = !running;
    status.classList.toggle('bad', state.state === 'failed');
    if (running) {
      const total = state.total || 0;
      if (total) {
        bar.max = total;
        bar.value = state.done || 0;
      } else {
        bar.removeAttribute('value'); // indeterminate until the server knows how much there is
      }
      status.textContent = total ? `Writing the backup… ${state.done || 0} of ${total} files` : 'Writing the backup…';
    } else if (state.state === 'failed') {
      status.textContent = state.error || 'The backup could not be written.';
    } else if (state.state === 'ready' && !mine) {
      status.textContent = '';
    }
  }

  function stopPolling() {
    clearTimeout(polling);
    polling = null;
  }

  async function poll() {
    stopPolling();
    let state;
    try {
      state = await api('/api/backup');
    } catch (error) {
      mine = false;
      show({ state: 'failed', error: error.message });
      return;
    }
    show(state);
    if (state.state === 'running') {
      polling = setTimeout(poll, POLL_MS);
    } else if (state.state === 'ready' && mine) {
      mine = false;
      await fetchBackup(state);
    } else {
      mine = false;
    }
  }

  async function fetchBackup(state) {
    status.textContent = 'Downloading the backup…';
    try {
      const response = await authFetch('/api/backup/file');
      if (!response.ok) throw new Error('The finished backup could not be found — try again.');
      saveBlob(await response.blob(), fileNameOf(response, `chatkit-desktop-backup-${today()}.zip`));
      status.textContent = state.size ? `Backup downloaded (${formatSize(state.size)}).` : 'Backup downloaded.';
    } catch (error) {
      status.classList.add('bad');
      status.textContent = error.message === 'Failed to fetch' ? UNREACHABLE : error.message;
      return;
    }
    // Downloaded: the copy in the data folder is not needed any more.
    api('/api/backup', { method: 'DELETE' }).catch(() => {});
  }

  async function start() {
    exportAll.disabled = true;
    status.classList.remove('bad');
    status.textContent = 'Starting the backup…';
    try {
      const state = await api('/api/backup', { method: 'POST' });
      mine = true;
      show(state);
      polling = setTimeout(poll, POLL_MS);
    } catch (error) {
      exportAll.disabled = false;
      status.classList.add('bad');
      status.textContent = error.message;
      if (error.status === 409) {
        mine = true; // one is already running: follow it
        poll();
      }
    }
  }

  async function stop() {
    stopPolling();
    mine = false;
    cancel.disabled = true;
    try {
      await api('/api/backup', { method: 'DELETE' });
      show({ state: 'idle' });
      status.classList.remove('bad');
      status.textContent = 'Backup cancelled.';
      exportAll.focus();
    } catch (error) {
      status.classList.add('bad');
      status.textContent = error.message;
      poll();
    } finally {
      cancel.disabled = false;
    }
  }

  async function reveal() {
    folderResult.className = 'folder-result';
    folderResult.textContent = '';
    openFolder.disabled = true;
    try {
      const result = await api('/api/data-folder/open', { method: 'POST' });
      if (result && result.ok === false) throw new Error(result.error || 'The data folder could not be opened.');
    } catch (error) {
      folderResult.classList.add('bad');
      folderResult.textContent = error.message;
    } finally {
      openFolder.disabled = false;
    }
  }

  return {
    element,
    /** Read the backup's and the import's states (running ones are followed again). */
    refresh() {
      if (!polling) poll();
      importer.refresh();
    },
  };
}
