// The Settings dialog, the same in both faces: the providers and their models (providers.js: keys, addresses,
// custom endpoints, favourite and hidden models), default model, system prompt, interface, two advanced numbers,
// and "Your data" (export.js: a full backup, import.js: an import, the data folder). Keys typed here go to the
// local server once and are never shown again in full; the inputs are emptied after saving.

import { api } from './client.js';
import { h, icon } from './dom.js';
import { createDataSection } from './export.js';
import { createProviders } from './providers.js';

const OVERRIDE_ENV = { default_model: 'CHATKIT_DESKTOP_MODEL', api_base: 'CHATKIT_DESKTOP_API_BASE' };
const STORAGE = {
  keyring: 'Keys you enter are kept in your system keyring, on this computer only.',
  file: 'Keys you enter are kept in secrets.json in the app’s data folder (readable only by you), on this computer only.',
};

/** Create the dialog once; `onSaved(view, previousView)` runs after every successful save. */
export function createSettings({ onSaved = () => {} } = {}) {
  let view = null;
  let models = [];
  const suggestions = h('datalist', { id: 'model-suggestions' }); // the default model's, kept fresh
  let firstRun = false;
  let fields = {};
  const data = createDataSection(); // made once: a backup's progress outlives a re-render or a closed dialog
  // Made once too: what is typed in a provider's editor survives a re-render. Its own changes (a provider added
  // or removed, a model starred) are saved at once; the faces' pickers follow.
  const providers = createProviders({
    onChanged(next) {
      const previous = view;
      if (next) view = next;
      loadModels();
      onSaved(view, previous);
    },
  });

  const body = h('div', { class: 'settings-body' });
  const errorBox = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const savedNote = h('span', { class: 'saved-note', role: 'status' });
  const storageLine = h('p', { class: 'storage-line' });
  const saveButton = h('button', { type: 'submit', class: 'button primary' }, 'Save');
  const form = h(
    'form',
    { class: 'settings-form', novalidate: true, onsubmit: (event) => { event.preventDefault(); save(); } },
    h(
      'header',
      { class: 'dialog-head' },
      h('h2', { id: 'settings-title' }, 'Settings'),
      h('button', { type: 'button', class: 'icon-button', 'aria-label': 'Close settings', onclick: () => close() },
        icon('close')),
    ),
    body,
    h(
      'footer',
      { class: 'dialog-foot' },
      storageLine,
      errorBox,
      h('div', { class: 'dialog-buttons' }, savedNote,
        h('button', { type: 'button', class: 'button', onclick: () => close() }, 'Close'), saveButton),
    ),
  );
  const dialog = h('dialog', { class: 'settings', 'aria-labelledby': 'settings-title' }, form);
  document.body.append(dialog);

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = !message;
  }

  // Provider facts (names, environment variables, where to get a key) come from the server's one table.
  function providerFacts(id) {
    return view.providers.find((p) => p.id === id) || { id, label: id, env_key: null, key_url: null };
  }

  function fixedNote(name) {
    if (!view.overridden.includes(name)) return null;
    return h('p', { class: `hint fixed${name === 'api_base' ? ' field' : ''}` }, name === 'api_base'
      ? `The default model’s provider is reached at the address in ${OVERRIDE_ENV.api_base}.`
      : `Fixed by the environment variable ${OVERRIDE_ENV[name] || name}.`);
  }

  function render() {
    const s = view.settings;
    const overridden = (name) => view.overridden.includes(name);
    fields = {
      default_model: h('input', { type: 'text', id: 'set-model', list: 'model-suggestions', value: s.default_model,
        autocomplete: 'off', spellcheck: 'false', disabled: overridden('default_model') }),
      system_prompt: h('textarea', { id: 'set-prompt', rows: 4 }),
      context_window: h('input', { type: 'number', id: 'set-window', min: 256, step: 1, placeholder: 'Automatic',
        value: s.context_window ?? '' }),
      request_timeout: h('input', { type: 'number', id: 'set-timeout', min: 1, max: 3600, step: 1,
        value: s.request_timeout }),
      proxy: h('input', { type: 'text', id: 'set-proxy', inputmode: 'url', autocomplete: 'off', spellcheck: 'false',
        placeholder: 'http://proxy.example:8080', value: s.proxy ?? '' }),
    };
    fields.system_prompt.value = s.system_prompt;
    const modeRadio = (value, title, detail) =>
      h('label', { class: 'choice' },
        h('input', { type: 'radio', name: 'ui_mode', value, checked: s.ui_mode === value }),
        h('span', {}, h('strong', {}, title), h('span', { class: 'hint' }, detail)));

    const setupProvider = providerFacts(view.setup_provider);
    const setup = firstRun && view.setup_needed
      ? h('p', { class: 'setup-note' },
        `Get a ${setupProvider.label} API key at `,
        h('a', { href: setupProvider.key_url, target: '_blank', rel: 'noopener noreferrer' },
          setupProvider.key_url.replace(/^https:\/\//, '')),
        ' and paste it below — the key stays on this computer.')
      : null;

    body.replaceChildren(
      setup || '',
      providers.element,
      h('section', { class: 'section' },
        h('h3', {}, 'Model'),
        h('div', { class: 'field' }, h('label', { for: 'set-model' }, 'Default model'), fields.default_model, suggestions,
          fixedNote('default_model') ||
            h('p', { class: 'hint' }, 'For a new conversation; a conversation keeps the model it last used.')),
        fixedNote('api_base'),
        h('div', { class: 'field' }, h('label', { for: 'set-prompt' }, 'System prompt'), fields.system_prompt)),
      providers.models,
      h('section', { class: 'section' },
        h('h3', {}, 'Interface'),
        h('div', { class: 'choices', role: 'radiogroup', 'aria-label': 'Interface' },
          modeRadio('chatkit', 'ChatKit', 'OpenAI’s chat interface, loaded from the internet.'),
          modeRadio('builtin', 'Built-in — private mode', 'This app’s own view; the page loads nothing from the internet.'))),
      h('details', { class: 'section advanced' },
        h('summary', {}, 'Advanced'),
        h('div', { class: 'field' }, h('label', { for: 'set-window' }, 'Context window (tokens)'), fields.context_window,
          h('p', { class: 'hint' }, 'Only for local models the app does not know; leave empty otherwise.')),
        h('div', { class: 'field' }, h('label', { for: 'set-timeout' }, 'Request timeout (seconds)'),
          fields.request_timeout),
        h('div', { class: 'field' }, h('label', { for: 'set-proxy' }, 'Proxy for providers'), fields.proxy,
          h('p', { class: 'hint' }, 'Only when your system sets none (HTTPS_PROXY); this computer is always ' +
            'reached directly.'))),
      data.element,
    );
    storageLine.textContent = STORAGE[view.key_storage] || '';
  }

  function changes() {
    const s = view.settings;
    const out = {};
    const text = (name) => fields[name].value.trim();
    if (!view.overridden.includes('default_model') && text('default_model') !== s.default_model) {
      out.default_model = text('default_model');
    }
    if (fields.system_prompt.value !== s.system_prompt) out.system_prompt = fields.system_prompt.value;
    const mode = form.querySelector('input[name="ui_mode"]:checked')?.value;
    if (mode && mode !== s.ui_mode) out.ui_mode = mode;
    const win = text('context_window');
    const newWindow = win === '' ? null : Number(win);
    if (newWindow !== (s.context_window ?? null)) out.context_window = newWindow;
    const timeout = text('request_timeout');
    if (timeout !== '' && Number(timeout) !== s.request_timeout) out.request_timeout = Number(timeout);
    if (text('proxy') !== (s.proxy ?? '')) out.proxy = text('proxy') || null;
    return out;
  }

  async function put(update) {
    const previous = view;
    view = await api('/api/settings', { method: 'PUT', body: update });
    await loadModels();
    render();
    onSaved(view, previous);
  }

  // Providers' edits first (each may fail by itself, its sentence at its field), then the settings.
  async function save() {
    showError('');
    savedNote.textContent = '';
    const update = changes();
    const edits = providers.pending();
    if (!Object.keys(update).length && !edits) {
      savedNote.textContent = 'Nothing to save.';
      return;
    }
    saveButton.disabled = true;
    try {
      const failed = edits ? await providers.saveEdits() : 0;
      if (Object.keys(update).length) await put(update);
      if (failed) showError('A provider’s change was not saved: its field says why.');
      else savedNote.textContent = 'Saved.';
    } catch (error) {
      showError(error.message);
    } finally {
      saveButton.disabled = false;
    }
  }

  async function loadModels() {
    try {
      models = (await api('/api/models')).models;
    } catch {
      models = [];
    }
    suggestions.replaceChildren(...models.map((m) => h('option', { value: m.id }, m.label)));
  }

  /** Open the dialog (fresh values from the server); `firstRun` adds the sentence about getting a key. */
  async function open({ firstRun: first = false, view: known = null } = {}) {
    firstRun = first;
    showError('');
    savedNote.textContent = '';
    try {
      [view] = await Promise.all([known || api('/api/settings'), loadModels()]);
    } catch (error) {
      if (!view) return;
      showError(error.message);
    }
    render();
    data.refresh();
    if (!dialog.open) dialog.showModal();
    dialog.querySelector('.dialog-head button').focus();
    await providers.refresh(view);
    // The first run goes straight to the key it needs, unless the user has moved on meanwhile.
    const target = first ? providers.openKey(view.setup_provider) : null;
    if (target && !target.disabled && dialog.contains(document.activeElement) &&
      document.activeElement.matches('.dialog-head button')) target.focus();
  }

  function close() {
    if (dialog.open) dialog.close();
  }

  return { open, close, dialog };
}
