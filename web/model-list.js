// Settings' "Models": every model of every provider that can answer (GET /api/models → groups), provider by
// provider, each with a star (favourites come first in both faces' pickers) and a hide toggle (left out of the
// pickers), saved at once as whole lists (PUT /api/settings favourite_models / hidden_models); a filter for long
// lists, and Refresh, which has every provider's list read again now.

import { api } from './client.js';
import { h } from './dom.js';

const SVG = 'http://www.w3.org/2000/svg';
const GLYPHS = {
  star: 'M12 3.5l2.6 5.4 5.9.8-4.3 4.1 1 5.8L12 16.9l-5.2 2.7 1-5.8-4.3-4.1 5.9-.8z',
  eye: 'M2.5 12s3.5-6.5 9.5-6.5 9.5 6.5 9.5 6.5-3.5 6.5-9.5 6.5S2.5 12 2.5 12zM12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6z',
};
const OPEN_GROUP_LIMIT = 24; // longer lists start folded

function glyph(name) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', `icon icon-${name}`);
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', GLYPHS[name]);
  svg.append(path);
  return svg;
}

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

function setResult(el, message, ok) {
  el.textContent = message || '';
  el.classList.toggle('ok', ok === true);
  el.classList.toggle('bad', ok === false);
}

/**
 * `onChanged(view?)` runs after a star or hide was saved (with the new settings view) or the lists were read
 * again; `onRefresh()` when Refresh is pressed, alongside. Returns `{element, refresh(view?)}`.
 */
export function createModelList({ onChanged = () => {}, onRefresh = () => {} } = {}) {
  let view = null; // the Settings view: the saved favourite and hidden lists
  let groups = [];
  let reading = 0; // only the last answer is shown

  const filter = h('input', { type: 'search', class: 'model-filter', placeholder: 'Filter models',
    'aria-label': 'Filter models', autocomplete: 'off', oninput: () => render() });
  const refreshButton = h('button', { type: 'button', class: 'button small', onclick: () => refreshNow() },
    'Refresh');
  const status = h('p', { class: 'models-status key-result', role: 'status' });
  const groupsBox = h('div', { class: 'model-groups' });
  const element = h('section', { class: 'section models', 'aria-labelledby': 'models-title' },
    h('h3', { id: 'models-title' }, 'Models'),
    h('div', { class: 'models-tools' }, filter, refreshButton),
    h('p', { class: 'hint' }, 'Starred models come first in the model picker; hidden ones are left out of it.'),
    status, groupsBox);

  // The whole list is sent: the saved one (ids of providers not answering now included), else the groups' flags.
  function savedList(name, flag) {
    const known = view?.settings?.[name];
    if (Array.isArray(known)) return [...known];
    return groups.flatMap((g) => g.models.filter((m) => m[flag]).map((m) => m.id));
  }

  function countOf(g) {
    if (!g.available) return { builtin: 'no key yet', local: 'not running' }[g.kind] || 'unavailable';
    const hidden = g.models.filter((m) => m.hidden).length;
    return [plural(g.models.length, 'model'), hidden ? `${hidden} hidden` : ''].filter(Boolean).join(' · ');
  }

  async function toggle(model, name, flag, button, group, counter) {
    const on = !model[flag];
    const current = savedList(name, flag);
    const next = on ? [...new Set(current.concat([model.id]))] : current.filter((id) => id !== model.id);
    const show = (value) => {
      model[flag] = value;
      button.setAttribute('aria-pressed', String(value));
      button.closest('.model-row')?.classList.toggle(`is-${flag}`, value);
      counter.textContent = countOf(group);
    };
    show(on);
    setResult(status, '');
    try {
      view = await api('/api/settings', { method: 'PUT', body: { [name]: next } });
      onChanged(view);
    } catch (error) {
      show(!on);
      setResult(status, error.message, false);
    }
  }

  function modelRow(model, group, counter) {
    const star = h('button', { type: 'button', class: 'icon-button small model-star', title: 'Favourite: first in the picker',
      'aria-pressed': String(Boolean(model.favourite)), 'aria-label': `Favourite ${model.label}` }, glyph('star'));
    const hide = h('button', { type: 'button', class: 'icon-button small model-hide', title: 'Hide from the picker',
      'aria-pressed': String(Boolean(model.hidden)), 'aria-label': `Hide ${model.label}` }, glyph('eye'));
    star.addEventListener('click', () => toggle(model, 'favourite_models', 'favourite', star, group, counter));
    hide.addEventListener('click', () => toggle(model, 'hidden_models', 'hidden', hide, group, counter));
    const li = h('li', { class: 'model-row', dataset: { model: model.id } },
      h('span', { class: 'model-name', title: model.id }, model.label,
        model.default ? h('span', { class: 'model-default' }, 'default') : null),
      star, hide);
    li.classList.toggle('is-favourite', Boolean(model.favourite));
    li.classList.toggle('is-hidden', Boolean(model.hidden));
    return li;
  }

  function render() {
    const query = filter.value.trim().toLowerCase();
    const match = (m) => !query || m.label.toLowerCase().includes(query) || m.id.toLowerCase().includes(query);
    const shown = groups
      .map((g) => ({ g, models: g.models.filter(match) }))
      .filter(({ models }) => models.length); // a server that is not running has none: Providers says so
    groupsBox.replaceChildren(...shown.map(({ g, models }) => {
      const counter = h('span', { class: 'model-group-count' }, countOf(g));
      return h('details', { class: 'model-group', dataset: { provider: g.provider },
        open: Boolean(query) || (g.available && g.models.length <= OPEN_GROUP_LIMIT) },
      h('summary', {}, h('span', { class: 'model-group-name' }, g.name), counter),
      g.message ? h('p', { class: 'hint model-group-message' }, g.message) : null,
      h('ul', { class: 'model-list', role: 'list' }, models.map((m) => modelRow(m, g, counter))));
    }));
    if (!shown.length) {
      groupsBox.append(h('p', { class: 'hint' }, query ? 'No model matches.'
        : 'No provider offers models yet: add a key, start Ollama or LM Studio, or add a provider.'));
    }
  }

  async function load(fresh = false) {
    const mine = ++reading;
    try {
      const answer = await api(fresh ? '/api/models?refresh=1' : '/api/models');
      if (mine !== reading) return true;
      groups = answer.groups || [];
      render();
      return true;
    } catch (error) {
      setResult(status, error.message, false);
      return false;
    }
  }

  async function refreshNow() {
    refreshButton.disabled = true;
    setResult(status, 'Reading every provider’s model list…');
    const [ok] = await Promise.all([load(true), onRefresh()]);
    if (ok) setResult(status, 'Model lists read again.', true);
    refreshButton.disabled = false;
    onChanged();
  }

  return {
    element,
    /** Read the groups again; `settingsView` (when given) holds the saved lists. */
    refresh(settingsView) {
      if (settingsView) view = settingsView;
      return load();
    },
  };
}
