// The Providers part of Settings, the same in both faces: every provider the app knows (built-in, found on this
// computer, added by the user) with its status and a Check; each one's editor (a built-in's key and optional
// proxy URL, a local server's address, a custom endpoint's name, URL and key), whose changes the dialog's Save
// sends; adding and removing custom endpoints, at once; and below them the models' list (model-list.js: stars
// and hide toggles). Keys are masked, never shown whole.

import { api, authFetch } from './client.js';
import { h, icon } from './dom.js';
import { createModelList } from './model-list.js';

const KINDS = { builtin: 'Built-in', local: 'On this computer', custom: 'OpenAI-compatible' };
const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
// The efforts Settings accepts (settings.py's `reasoning_effort`), '' leaving it to the model.
const EFFORTS = { '': 'The model’s own', low: 'Low', medium: 'Medium', high: 'High' };

/** DELETE answers 204 with no body, which `api` cannot parse. */
async function remove(path) {
  const response = await authFetch(path, { method: 'DELETE' }).catch(() => {
    throw new Error('ChatKit Desktop is not answering — is the app still running?');
  });
  if (response.ok) return;
  const body = await response.json().catch(() => null);
  throw new Error(body?.error || `The app answered with an error (HTTP ${response.status}).`);
}

/** A labelled input with a hint and a line for the server's sentence; `control` is what holds the input. */
function field(id, label, input, hint, control = input) {
  const error = h('p', { class: 'field-error', id: `${id}-error`, role: 'alert' });
  input.id = id;
  input.setAttribute('aria-describedby', error.id);
  return { input, error, element: h('div', { class: 'field' }, h('label', { for: id }, label), control,
    hint ? h('p', { class: 'hint' }, hint) : null, error) };
}

function textInput(attrs) {
  return h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', ...attrs });
}

function setResult(el, message, ok) {
  el.textContent = message || '';
  el.classList.toggle('ok', ok === true);
  el.classList.toggle('bad', ok === false);
}

/**
 * `onChanged(view?)` runs after anything here changed the server's providers or model lists (with the new
 * settings view when there is one), so the pickers read them again. Returns `{element, models, refresh(view),
 * pending(), saveEdits(), openKey(id)}`.
 */
export function createProviders({ onChanged = () => {} } = {}) {
  let view = null; // the Settings view: the environment variables' names
  let providers = [];
  const modelList = createModelList({
    onChanged: (next) => onChanged(next),
    onRefresh: () => loadProviders(), // the counts in the status lines follow a refresh
  });
  const rows = new Map(); // id → row, kept across refreshes so typed values and results survive

  const list = h('ul', { class: 'provider-list', role: 'list' });
  const listError = h('p', { class: 'key-result bad', role: 'alert' });
  const addForm = createAddForm();
  const providersSection = h('section', { class: 'section providers', 'aria-labelledby': 'providers-title' },
    h('h3', { id: 'providers-title' }, 'Providers'), listError, list, addForm.element);

  // ---- a provider's row ----

  const facts = (p) => view?.providers?.find((known) => known.id === p.id) || {};
  const envName = (p) => facts(p).env_key || `${p.id.toUpperCase()}_API_KEY`;

  function statusParts(p) {
    const st = p.status || {};
    const parts = [];
    if (p.kind === 'local') {
      parts.push(st.reachable === true ? 'Running' : st.reachable === false ? 'Not running' : 'Looking for it…');
    } else if (p.key?.set) {
      const where = p.key.source === 'env' ? `Key from ${envName(p)} ` : 'Key saved ';
      parts.push([where, h('span', { class: 'masked' }, p.key.masked || '')]);
    } else {
      const url = p.kind === 'builtin' && facts(p).key_url;
      parts.push(url ? ['No key — ', h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, 'get one')]
        : 'No key');
    }
    if (st.models !== null && st.models !== undefined && st.reachable !== false) parts.push(plural(st.models, 'model'));
    return parts.flatMap((part, i) => (i ? [' · ', part] : [part])).flat();
  }

  function createRow(id) {
    const row = { id, p: null, open: false, confirming: false };
    row.name = h('strong', { class: 'provider-name' });
    row.kind = h('span', { class: 'provider-kind' });
    row.url = h('span', { class: 'provider-url' });
    row.status = h('p', { class: 'provider-status key-status' });
    row.message = h('p', { class: 'provider-message' });
    row.warning = h('p', { class: 'provider-warning', role: 'note' });
    row.result = h('p', { class: 'check-result key-result', role: 'status' });
    row.check = h('button', { type: 'button', class: 'button small', onclick: () => check(row) }, 'Check');
    row.edit = h('button', { type: 'button', class: 'button small quiet', 'aria-expanded': 'false',
      'aria-controls': `provider-edit-${id}`, onclick: () => setOpen(row, !row.open) }, 'Edit');
    row.remove = h('button', { type: 'button', class: 'button small quiet', onclick: () => confirmRemove(row, true) },
      'Remove');
    row.editor = h('div', { class: 'provider-editor', id: `provider-edit-${id}`, hidden: true });
    row.confirmText = h('span', {});
    row.confirm = h('div', { class: 'provider-confirm', role: 'group', hidden: true },
      row.confirmText,
      h('span', { class: 'provider-confirm-buttons' },
        h('button', { type: 'button', class: 'button small', onclick: () => confirmRemove(row, false) }, 'Cancel'),
        h('button', { type: 'button', class: 'button small danger', onclick: () => removeProvider(row) }, 'Remove')));
    row.element = h('li', { class: 'provider', dataset: { provider: id } },
      h('div', { class: 'provider-head' },
        h('div', { class: 'provider-title' }, row.name, row.kind, row.url),
        h('div', { class: 'provider-actions' }, row.check, row.edit, row.remove)),
      row.status, row.message, row.warning, row.result, row.confirm, row.editor);
    return row;
  }

  function updateRow(row, p) {
    const prev = row.p;
    const changed = !prev || prev.kind !== p.kind || prev.key?.source !== p.key?.source;
    row.p = p;
    row.element.dataset.kind = p.kind;
    row.name.textContent = p.name;
    row.kind.textContent = KINDS[p.kind] || p.kind;
    row.url.textContent = p.kind === 'builtin' && !p.base_url ? '' : p.base_url || p.default_base_url || '';
    row.status.replaceChildren(...statusParts(p));
    // A local server that is not running says only that (its address is on the row); others say why.
    const failing = p.kind !== 'local' && p.status?.reachable === false && p.status?.message;
    row.message.textContent = failing ? p.status.message : '';
    row.warning.textContent = p.warning || '';
    row.check.setAttribute('aria-label', `Check ${p.name}`);
    row.edit.setAttribute('aria-label', `Edit ${p.name}`);
    row.remove.setAttribute('aria-label', `Remove ${p.name}`);
    row.remove.hidden = p.kind !== 'custom' || row.confirming;
    row.confirm.setAttribute('aria-label', `Remove ${p.name}?`);
    if (changed || !row.fields) buildEditor(row);
    else row.fields.sync(prev);
  }

  // The editor's inputs start from the saved values; `changes()` is what differs from them.
  function buildEditor(row) {
    const { p, id } = row;
    const f = {};
    const parts = [];
    if (p.kind === 'custom') {
      f.name = field(`prov-${id}-name`, 'Name', textInput({ maxlength: 60 }));
      parts.push(f.name.element);
    }
    if (p.kind !== 'local') {
      const fromEnv = p.key?.source === 'env';
      const input = h('input', { type: 'password', autocomplete: 'off', spellcheck: 'false', disabled: fromEnv });
      const forget = h('button', { type: 'button', class: 'button small quiet', onclick: () => forgetKey(row) },
        'Forget key');
      f.key = field(`prov-${id}-key`, `${p.name} API key`, input,
        fromEnv ? `Set by the environment variable ${envName(p)}.` : null, h('div', { class: 'key-input' }, input, forget));
      f.key.forget = forget;
      parts.push(f.key.element);
    }
    const baseLabel = { builtin: 'Base URL (optional)', local: 'Address', custom: 'Base URL' }[p.kind];
    const baseHint = {
      builtin: `Only for a proxy or gateway in front of ${p.name}; leave empty for ${p.name}’s own address.`,
      local: 'Where the server listens on this computer; leave empty for its usual address.',
      custom: 'The address before /chat/completions, e.g. https://openrouter.ai/api/v1.',
    }[p.kind];
    f.base = field(`prov-${id}-base`, baseLabel, textInput({ inputmode: 'url' }), baseHint);
    parts.push(f.base.element);
    f.effort = field(`prov-${id}-effort`, 'Reasoning effort', h('select', {}, Object.entries(EFFORTS).map(
      ([value, label]) => h('option', { value }, label))), 'For models that think (GPT-5, o-series, Gemini 2.5, ' +
      'Claude): how long they think before answering. Their thoughts show folded above the answer.');
    parts.push(f.effort.element);
    // A value left as it was saved follows the new saved value; one the user changed is kept.
    f.sync = (prev) => {
      const q = row.p;
      if (f.name && prev && f.name.input.value === prev.name) f.name.input.value = q.name;
      if (prev && f.base.input.value === (prev.base_url || '')) f.base.input.value = q.base_url || '';
      if (prev && f.effort.input.value === (prev.reasoning_effort || '')) f.effort.input.value = q.reasoning_effort || '';
      if (f.key) {
        const fromEnv = q.key?.source === 'env';
        f.key.input.placeholder = fromEnv ? 'Set by the environment' : q.key?.set ? 'Paste a new key to replace it'
          : q.needs_key ? 'Paste your key' : 'Optional';
        f.key.forget.hidden = !q.key?.set || fromEnv;
      }
      f.base.input.placeholder = q.kind === 'custom' ? 'https://…/v1' : q.default_base_url || '';
    };
    f.reset = () => {
      if (f.name) f.name.input.value = row.p.name;
      if (f.key) f.key.input.value = '';
      f.base.input.value = row.p.base_url || '';
      f.effort.input.value = row.p.reasoning_effort || '';
      for (const one of [f.name, f.key, f.base, f.effort]) if (one) one.error.textContent = '';
    };
    f.changes = () => {
      const q = row.p;
      const out = {};
      if (f.name && f.name.input.value.trim() !== q.name) out.name = f.name.input.value.trim();
      if (f.key && !f.key.input.disabled && f.key.input.value.trim()) out.api_key = f.key.input.value.trim();
      const base = f.base.input.value.trim();
      if (base !== (q.base_url || '')) out.base_url = base || null;
      if (f.effort.input.value !== (q.reasoning_effort || '')) out.reasoning_effort = f.effort.input.value || null;
      return out;
    };
    row.fields = f;
    row.editor.replaceChildren(...parts,
      h('div', { class: 'provider-editor-buttons' },
        h('button', { type: 'button', class: 'button small quiet', onclick: () => setOpen(row, false, true) },
          'Cancel edit')));
    f.reset();
    f.sync();
  }

  function setOpen(row, open, discard = false) {
    row.open = open;
    row.editor.hidden = !open;
    row.edit.setAttribute('aria-expanded', String(open));
    if (discard) row.fields.reset();
    if (open) row.editor.querySelector('input:not(:disabled)')?.focus();
    else if (discard) row.edit.focus();
  }

  function render() {
    const seen = new Set();
    for (const p of providers) {
      seen.add(p.id);
      if (!rows.has(p.id)) rows.set(p.id, createRow(p.id));
      updateRow(rows.get(p.id), p);
    }
    for (const id of [...rows.keys()]) if (!seen.has(id)) rows.delete(id);
    list.replaceChildren(...providers.map((p) => rows.get(p.id).element));
  }

  // ---- actions on one provider ----

  async function check(row) {
    const { p } = row;
    const typed = row.fields.key && !row.fields.key.input.disabled ? row.fields.key.input.value.trim() : '';
    const byItself = Boolean(typed) && p.kind === 'builtin';
    const unsaved = Object.keys(row.fields.changes()).some((name) => !(byItself && name === 'api_key'));
    row.check.disabled = true;
    row.check.textContent = 'Checking…';
    setResult(row.result, '');
    try {
      // A key typed but not saved yet is tried by itself, as the built-ins always allowed.
      const result = byItself
        ? await api('/api/keys/check', { method: 'POST', body: { provider: p.id, key: typed } })
        : await api(`/api/providers/${encodeURIComponent(p.id)}/check`, { method: 'POST' });
      const note = unsaved ? ' (This checked what is saved; Save to check your changes.)' : '';
      setResult(row.result, result.message + note, Boolean(result.ok));
      if (!byItself) loadProviders(); // the status line follows what the check found
    } catch (error) {
      setResult(row.result, error.message, false);
    } finally {
      row.check.disabled = false;
      row.check.textContent = 'Check';
    }
  }

  async function forgetKey(row) {
    setResult(row.result, '');
    try {
      await api(`/api/providers/${encodeURIComponent(row.id)}`, { method: 'PUT', body: { api_key: '' } });
      setResult(row.result, `${row.p.name} key forgotten.`, true);
      await reload();
    } catch (error) {
      setResult(row.result, error.message, false);
    }
  }

  function confirmRemove(row, on) {
    row.confirming = on;
    row.confirm.hidden = !on;
    row.remove.hidden = on;
    row.confirmText.textContent = on ? `Remove ${row.p.name}? Its key is forgotten too.` : '';
    (on ? row.confirm.querySelector('button') : row.remove).focus();
  }

  async function removeProvider(row) {
    try {
      await remove(`/api/providers/${encodeURIComponent(row.id)}`);
      rows.delete(row.id);
      await reload();
      addForm.toggle.focus();
    } catch (error) {
      confirmRemove(row, false);
      setResult(row.result, error.message, false);
    }
  }

  // ---- adding a custom provider ----

  function createAddForm() {
    const name = field('prov-new-name', 'Name', textInput({ maxlength: 60, placeholder: 'e.g. OpenRouter' }));
    const base = field('prov-new-base', 'Base URL', textInput({ inputmode: 'url', placeholder: 'https://…/v1' }),
      'Any OpenAI-compatible endpoint: OpenRouter, Groq, DeepSeek, Together, vLLM, a company gateway.');
    const key = field('prov-new-key', 'API key (optional)', h('input', { type: 'password', autocomplete: 'off' }));
    const general = h('p', { class: 'field-error', role: 'alert' });
    const submit = h('button', { type: 'button', class: 'button small primary', onclick: () => add() }, 'Add');
    const toggle = h('button', { type: 'button', class: 'button small', 'aria-expanded': 'false',
      onclick: () => show(box.hidden) }, icon('plus'), 'Add provider');
    const box = h('div', { class: 'provider-add', hidden: true, role: 'group', 'aria-label': 'New provider' },
      name.element, base.element, key.element, general,
      h('div', { class: 'provider-editor-buttons' },
        h('button', { type: 'button', class: 'button small quiet', onclick: () => show(false) }, 'Cancel'), submit));
    // Enter adds (the dialog's own form would otherwise take it as Save).
    box.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && event.target instanceof HTMLInputElement) {
        event.preventDefault();
        add();
      }
    });
    const fields = [name, base, key];
    function clearErrors() {
      for (const one of fields) one.error.textContent = '';
      general.textContent = '';
    }
    function show(on) {
      box.hidden = !on;
      toggle.setAttribute('aria-expanded', String(on));
      clearErrors();
      if (on) name.input.focus();
      else toggle.focus();
    }
    async function add() {
      clearErrors();
      submit.disabled = true;
      try {
        const created = await api('/api/providers', { method: 'POST', body: {
          name: name.input.value.trim(), base_url: base.input.value.trim(), api_key: key.input.value.trim() || null,
        } });
        for (const one of fields) one.input.value = '';
        show(false);
        await reload();
        const row = rows.get(created.id);
        if (row) {
          row.element.scrollIntoView({ block: 'nearest' });
          check(row); // the user wants to know at once whether it answers
        }
      } catch (error) {
        // The server's sentence goes under the field it is about.
        const about = /url|address|http/i.test(error.message) ? base : /name/i.test(error.message) ? name
          : /key/i.test(error.message) ? key : null;
        (about ? about.error : general).textContent = error.message;
        (about || name).input.focus();
      } finally {
        submit.disabled = false;
      }
    }
    return { toggle, element: h('div', { class: 'provider-add-area' }, toggle, box) };
  }

  // ---- reading from the server ----

  async function loadProviders() {
    try {
      providers = (await api('/api/providers')).providers;
      listError.textContent = '';
      render();
    } catch (error) {
      listError.textContent = error.message;
    }
  }

  async function reload() {
    await Promise.all([loadProviders(), modelList.refresh()]);
    onChanged();
  }

  return {
    /** The Providers section and the Models one, for the dialog to place. */
    element: providersSection,
    models: modelList.element,
    /** Read providers and models again; `settingsView` is the dialog's view of the settings. */
    async refresh(settingsView) {
      if (settingsView) view = settingsView;
      await Promise.all([loadProviders(), modelList.refresh(settingsView)]);
    },
    /** Whether an editor holds changes the dialog's Save would send. */
    pending: () => [...rows.values()].some((row) => row.fields && Object.keys(row.fields.changes()).length),
    /** Send every editor's changes; each failure is shown at its field. Resolves to the number that failed. */
    async saveEdits() {
      let failed = 0;
      let saved = 0;
      for (const row of rows.values()) {
        const body = row.fields?.changes() || {};
        if (!Object.keys(body).length) continue;
        try {
          await api(`/api/providers/${encodeURIComponent(row.id)}`, { method: 'PUT', body });
          saved += 1;
          setOpen(row, false);
          row.fields.reset();
        } catch (error) {
          failed += 1;
          setOpen(row, true);
          const f = row.fields;
          const about = /url|address|http/i.test(error.message) ? f.base : /name/i.test(error.message) && f.name
            ? f.name : f.key || f.base;
          about.error.textContent = error.message;
        }
      }
      if (saved) await reload();
      return failed;
    },
    /** Open a provider's editor and give back its key field (the first run's focus). */
    openKey(id) {
      const row = rows.get(id);
      if (!row?.fields?.key) return null;
      setOpen(row, true);
      return row.fields.key.input;
    },
  };
}
