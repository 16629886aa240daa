// Boot: take the token, read the settings, show ChatKit (or the built-in face when ChatKit cannot load or
// private mode is on), and open Settings by themselves on first run.

import { api, onUnauthorized, takeToken } from './client.js';
import { mountBuiltin } from './face-builtin.js';
import { loadChatKit, mountChatKit } from './face-chatkit.js';
import { h } from './dom.js';
import { createSettings } from './settings.js';

const root = document.getElementById('app');

function fullPage(...children) {
  for (const dialog of document.querySelectorAll('dialog[open]')) dialog.close();
  document.body.dataset.face = 'none';
  root.replaceChildren(
    h('div', { class: 'full-page' },
      h('div', { class: 'full-card' },
        h('img', { src: '/favicon.svg', alt: '', width: 56, height: 56 }),
        h('h1', {}, 'ChatKit Desktop'),
        ...children)),
  );
}

function showNoToken() {
  fullPage(
    h('p', { class: 'no-token' }, 'Open ChatKit Desktop from its window (or the address printed by ',
      h('code', {}, 'chatkit-desktop serve'), ').'),
    h('p', { class: 'hint' }, 'This page needs the access token that comes with that address.'),
  );
}

async function boot() {
  if (!takeToken()) {
    showNoToken();
    return;
  }
  let unauthorized = false;
  onUnauthorized(() => {
    unauthorized = true;
    showNoToken();
  });

  let view;
  try {
    view = await api('/api/settings');
  } catch (error) {
    if (!unauthorized) fullPage(h('p', {}, error.message), h('p', { class: 'hint' }, 'Reload this page to try again.'));
    return;
  }

  let face = null;
  const settings = createSettings({
    onSaved(next, previous) {
      if (next.settings.ui_mode !== previous.settings.ui_mode) {
        location.reload();
        return;
      }
      face?.refresh();
    },
  });
  const openSettings = () => settings.open();
  if (view.setup_needed) settings.open({ firstRun: true, view });

  if (view.settings.ui_mode === 'builtin') {
    document.body.dataset.face = 'builtin';
    face = mountBuiltin(root, { reason: 'private', openSettings });
  } else if (await loadChatKit()) {
    if (unauthorized) return;
    document.body.dataset.face = 'chatkit';
    face = await mountChatKit(root, { openSettings });
  } else {
    if (unauthorized) return;
    document.body.dataset.face = 'builtin';
    face = mountBuiltin(root, { reason: 'unavailable', openSettings });
  }
}

boot();
