// The Settings dialog, the same in both faces: provider keys (masked, checked, saved, forgotten), default
// model, OpenAI-compatible base URL, system prompt, interface, two advanced numbers, and "Your data" (export.js:
// a full backup, import.js: an import, the data folder). Keys typed here go to the local server once and are
// never shown again in full; the inputs are emptied after saving.

import { api } from './client.js';
import { h, icon } from './dom.js';
import { createDataSection } from './export.js';

const OVERRIDE_ENV = { default_model: 'CHATKIT_DESKTOP_MODEL', api_base: 'CHATKIT_DESKTOP_API_BASE' };
const STORAGE = {
  keyring: 'Keys you enter are kept in your system keyring, on this computer only.',
  file: 'Keys you enter are kept in secrets.json in the app’s data folder (readable only by you), on this computer only.',
};
const SOURCES = { keyring: 'Saved in the system keyring', file: 'Saved in secrets.json' };

/** Create the dialog once; `onSaved(view, previousView)` runs after every successful save. */
export function createSettings({ onSaved = () => {} } = {}) {
  let view = null;
  let models = [];
  let firstRun = false;
  let fields = {};
  let keyRows = {};
  const data = createDataSection(); // made once: a backup's progress outlives a re-render or a closed dialog

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

  function keyStatus(info) {
    if (info.source === 'env') {
      return [`Set by the environment (${providerFacts(info.provider).env_key}) `, h('span', { class: 'masked' }, info.masked || '')];
    }
    if (info.set) return [`${SOURCES[info.source] || 'Saved'} `, h('span', { class: 'masked' }, info.masked || '')];
    const url = providerFacts(info.provider).key_url;
    return url
      ? ['Not set — ', h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, 'get a key')]
      : ['Not set'];
  }

  function keyRow(info) {
    const { provider } = info;
    const name = providerFacts(provider).label;
    const fromEnv = info.source === 'env';
    const input = h('input', {
      type: 'password', id: `key-${provider}`, name: `key-${provider}`, autocomplete: 'off', spellcheck: 'false',
      placeholder: fromEnv ? 'Set by the environment' : info.set ? 'Paste a new key to replace it' : 'Paste your key',
      disabled: fromEnv,
    });
    const result = h('p', { class: 'key-result', role: 'status' });
    const check = h('button', { type: 'button', class: 'button small', onclick: () => checkKey(provider) }, 'Check key');
    const forget = h('button', { type: 'button', class: 'button small quiet', onclick: () => forgetKey(provider),
      hidden: !info.set || fromEnv }, 'Forget key');
    keyRows[provider] = { input, result, check, forget };
    return h(
      'div',
      { class: 'key-row', dataset: { provider, source: info.source } },
      h('div', { class: 'key-head' },
        h('label', { for: input.id }, `${name} API key`),
        h('span', { class: 'key-status' }, keyStatus(info))),
      h('div', { class: 'key-input' }, input, check, forget),
      result,
    );
  }

  function fixedNote(name) {
    return view.overridden.includes(name)
      ? h('p', { class: 'hint fixed' }, `Fixed by the environment variable ${OVERRIDE_ENV[name] || name}.`)
      : null;
  }

  function render() {
    const s = view.settings;
    const overridden = (name) => view.overridden.includes(name);
    keyRows = {};
    const list = h('datalist', { id: 'model-suggestions' }, models.map((m) => h('option', { value: m.id }, m.label)));
    fields = {
      default_model: h('input', { type: 'text', id: 'set-model', list: 'model-suggestions', value: s.default_model,
        autocomplete: 'off', spellcheck: 'false', disabled: overridden('default_model') }),
      api_base: h('input', { type: 'text', id: 'set-base', inputmode: 'url', value: s.api_base || '',
        placeholder: 'Leave empty for Gemini, OpenAI and Anthropic', autocomplete: 'off', spellcheck: 'false',
        disabled: overridden('api_base') }),
      system_prompt: h('textarea', { id: 'set-prompt', rows: 4 }),
      context_window: h('input', { type: 'number', id: 'set-window', min: 256, step: 1, placeholder: 'Automatic',
        value: s.context_window ?? '' }),
      request_timeout: h('input', { type: 'number', id: 'set-timeout', min: 1, max: 3600, step: 1,
        value: s.request_timeout }),
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
      h('section', { class: 'section' }, h('h3', {}, 'API keys'), view.keys.map(keyRow)),
      h('section', { class: 'section' },
        h('h3', {}, 'Model'),
        h('div', { class: 'field' }, h('label', { for: 'set-model' }, 'Default model'), fields.default_model, list,
          fixedNote('default_model') ||
            h('p', { class: 'hint' }, 'A LiteLLM model id such as gemini/gemini-2.5-flash or openai/gpt-5-mini.')),
        h('div', { class: 'field' }, h('label', { for: 'set-base' }, 'OpenAI-compatible base URL'), fields.api_base,
          fixedNote('api_base'), h('p', { class: 'hint' }, 'For a model on your computer: Ollama ',
            h('code', {}, 'http://localhost:11434/v1'), ', LM Studio ', h('code', {}, 'http://localhost:1234/v1'),
            ' (with a default model like openai/llama3.2).')),
        h('div', { class: 'field' }, h('label', { for: 'set-prompt' }, 'System prompt'), fields.system_prompt)),
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
          fields.request_timeout)),
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
    if (!view.overridden.includes('api_base') && text('api_base') !== (s.api_base || '')) out.api_base = text('api_base');
    if (fields.system_prompt.value !== s.system_prompt) out.system_prompt = fields.system_prompt.value;
    const mode = form.querySelector('input[name="ui_mode"]:checked')?.value;
    if (mode && mode !== s.ui_mode) out.ui_mode = mode;
    const win = text('context_window');
    const newWindow = win === '' ? null : Number(win);
    if (newWindow !== (s.context_window ?? null)) out.context_window = newWindow;
    const timeout = text('request_timeout');
    if (timeout !== '' && Number(timeout) !== s.request_timeout) out.request_timeout = Number(timeout);
    const keys = {};
    for (const [provider, row] of Object.entries(keyRows)) {
      if (!row.input.disabled && row.input.value.trim()) keys[provider] = row.input.value.trim();
    }
    if (Object.keys(keys).length) out.keys = keys;
    return out;
  }

  async function put(update) {
    const previous = view;
    view = await api('/api/settings', { method: 'PUT', body: update });
    await loadModels();
    render();
    onSaved(view, previous);
  }

  async function save() {
    showError('');
    savedNote.textContent = '';
    const update = changes();
    if (!Object.keys(update).length) {
      savedNote.textContent = 'Nothing to save.';
      return;
    }
    saveButton.disabled = true;
    try {
      await put(update);
      savedNote.textContent = 'Saved.';
    } catch (error) {
      showError(error.message);
    } finally {
      saveButton.disabled = false;
    }
  }

  async function checkKey(provider) {
    const row = keyRows[provider];
    const typed = row.input.value.trim();
    row.check.disabled = true;
    row.check.textContent = 'Checking…';
    row.result.className = 'key-result';
    row.result.textContent = '';
    try {
      const result = await api('/api/keys/check', { method: 'POST', body: typed ? { provider, key: typed } : { provider } });
      row.result.textContent = result.message;
      row.result.classList.add(result.ok ? 'ok' : 'bad');
    } catch (error) {
      row.result.textContent = error.message;
      row.result.classList.add('bad');
    } finally {
      row.check.disabled = false;
      row.check.textContent = 'Check key';
    }
  }

  async function forgetKey(provider) {
    showError('');
    try {
      await put({ keys: { [provider]: '' } });
      keyRows[provider].result.textContent = `${providerFacts(provider).label} key forgotten.`;
    } catch (error) {
      showError(error.message);
    }
  }

  async function loadModels() {
    try {
      models = (await api('/api/models')).models;
    } catch {
      models = [];
    }
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
    const target = first ? keyRows[view.setup_provider]?.input : null;
    (target && !target.disabled ? target : dialog.querySelector('.dialog-head button')).focus();
  }

  function close() {
    if (dialog.open) dialog.close();
  }

  return { open, close, dialog };
}
