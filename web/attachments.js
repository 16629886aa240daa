// The composer's attachments: files picked with the paperclip, dropped on the conversation or pasted into the
// message box are checked against the server's limits, uploaded at once by ChatKit's two-phase protocol
// (`attachments.create`, then the bytes to the upload URL it returns), and shown as chips in a tray above the
// message box until the message takes them. A file the server refuses leaves its one sentence on screen and
// no chip behind.

import { api, chatkit, upload } from './client.js';
import { formatSize, h, icon, toast } from './dom.js';
import { kindOf, showImage } from './attachments-view.js';

/**
 * `onChange()` is called whenever the tray's files or their states change; `onEmptied()` when the user removed
 * the last chip, so the focus, which was on its × button, can go back to the message box.
 */
export function createAttachments({ onChange, onEmptied }) {
  let limits = null;
  let unavailable = 'Attachments are not available yet.';
  const entries = []; // {file, local, attachment, state: 'uploading'|'ready', controller, done, chip, bar}
  const input = h('input', { type: 'file', multiple: true, class: 'attach-input', tabindex: '-1',
    'aria-hidden': 'true', onchange: () => {
      add([...input.files]);
      input.value = ''; // picking the same file again must fire `change` again
    } });
  const button = h('button', { type: 'button', class: 'icon-button attach', 'aria-label': 'Attach files',
    hidden: true, onclick: () => input.click() }, icon('paperclip'));
  const tray = h('ul', { class: 'tray', 'aria-label': 'Attachments', hidden: true });

  async function loadLimits() {
    try {
      limits = await api('/api/attachments/limits');
    } catch (error) {
      unavailable = `Attachments are not available: ${error.message}`;
      return;
    }
    button.hidden = false;
    button.title = limits.summary || 'Attach files';
    // The picker offers the accepted kinds first; the server still decides a file's type from its bytes.
    input.accept = Object.entries(limits.accept || {}).flatMap(([type, extensions]) => [type, ...extensions]).join(',');
  }

  /** Take files from any of the three ways in: check each against the limits, then upload it. */
  function add(files) {
    if (!files.length) return;
    if (!limits) {
      toast(unavailable);
      return;
    }
    for (const file of files) {
      const refusal = refusalOf(file);
      if (refusal) {
        toast(refusal);
        if (entries.length >= limits.max_count) break; // one sentence for all the files that did not fit
        continue;
      }
      start(file);
    }
    onChange();
  }

  // The same checks the server makes, made first so a file that cannot go is not sent at all.
  function refusalOf(file) {
    if (entries.length >= limits.max_count) {
      return `A message can carry at most ${limits.max_count} files; send the rest in another message.`;
    }
    if (file.size === 0) return `${file.name} is empty.`;
    if (file.size > limits.max_bytes) {
      return `${file.name} is larger than ${formatSize(limits.max_bytes)}, the limit for one file.`;
    }
    return null;
  }

  // Browsers give no type for many code files; the server's list of extensions names one.
  function typeOf(file) {
    if (file.type) return file.type;
    const name = file.name.toLowerCase();
    const accepted = Object.entries(limits.accept || {});
    const known = accepted.find(([, extensions]) => extensions.some((extension) => name.endsWith(extension)));
    return known ? known[0] : 'application/octet-stream';
  }

  function start(file) {
    const entry = { file, attachment: null, state: 'uploading', controller: new AbortController() };
    // The page's own copy shows at once; the server's preview is used once the message is sent.
    entry.local = file.type.startsWith('image/') ? URL.createObjectURL(file) : null;
    entries.push(entry);
    drawChip(entry);
    entry.done = uploadEntry(entry);
  }

  async function uploadEntry(entry) {
    const { file } = entry;
    try {
      const params = { name: file.name, size: file.size, mime_type: typeOf(file) };
      entry.attachment = await chatkit('attachments.create', params);
      if (entry.controller.signal.aborted) {
        forget(entry.attachment); // removed while it was being created
        return;
      }
      const uploaded = await upload(entry.attachment.upload_descriptor, file, {
        signal: entry.controller.signal,
        onProgress: (fraction) => setProgress(entry, fraction),
      });
      entry.attachment = { ...entry.attachment, ...uploaded, upload_descriptor: null };
      entry.state = 'ready';
      setProgress(entry, 1);
      entry.chip.dataset.state = 'ready';
      entry.chip.setAttribute('aria-busy', 'false');
    } catch (error) {
      if (error.name === 'AbortError') return; // removed by the user, who knows
      toast(error.message);
      discard(entry);
      forget(entry.attachment);
    } finally {
      onChange();
    }
  }

  function setProgress(entry, fraction) {
    const percent = Math.round(fraction * 100);
    entry.bar.style.setProperty('--progress', `${percent}%`);
    entry.bar.setAttribute('aria-valuenow', String(percent));
  }

  function drawChip(entry) {
    const { file } = entry;
    entry.bar = h('span', { class: 'chip-progress', role: 'progressbar', 'aria-label': `Uploading ${file.name}`,
      'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0' });
    const remove = h('button', { type: 'button', class: 'chip-remove', 'aria-label': `Remove ${file.name}`,
      title: 'Remove', onclick: () => removeByUser(entry) }, icon('close'));
    entry.chip = h('li', { class: `chip ${entry.local ? 'chip-image' : 'chip-file'}`, title: file.name,
      'aria-busy': 'true', dataset: { state: 'uploading' } },
    chipBody(entry), entry.bar, h('span', { class: 'spinner' }), remove);
    tray.append(entry.chip);
    tray.hidden = false;
  }

  // A picture is its thumbnail, which opens it large; another file is its name, kind and size.
  function chipBody(entry) {
    const { file } = entry;
    if (entry.local) {
      const open = () => showImage({ src: entry.local, name: file.name,
        attachment: entry.state === 'ready' ? entry.attachment : null });
      return h('button', { type: 'button', class: 'chip-thumb', 'aria-label': `View ${file.name}`, onclick: open },
        h('img', { src: entry.local, alt: '' }));
    }
    const meta = `${kindOf({ name: file.name, mime_type: file.type })} · ${formatSize(file.size)}`;
    return [h('span', { class: 'file-badge' }, icon('file')),
      h('span', { class: 'file-text' },
        h('span', { class: 'file-name' }, file.name),
        h('span', { class: 'file-meta' }, meta))];
  }

  function removeByUser(entry) {
    const at = entries.indexOf(entry);
    entry.controller.abort();
    discard(entry);
    forget(entry.attachment);
    const next = entries[Math.min(at, entries.length - 1)];
    if (next) next.chip.querySelector('.chip-remove').focus();
    else onEmptied();
    onChange();
  }

  // An attachment that will not be sent is deleted on the server; a failure only leaves an unused file there.
  function forget(attachment) {
    if (attachment?.id) chatkit('attachments.delete', { attachment_id: attachment.id }).catch(() => {});
  }

  function discard(entry) {
    const at = entries.indexOf(entry);
    if (at !== -1) entries.splice(at, 1);
    entry.chip.remove();
    if (entry.local) URL.revokeObjectURL(entry.local);
    tray.hidden = !entries.length;
  }

  return {
    button,
    input,
    tray,
    loadLimits,
    add,
    /** How many files are in the tray, uploading or ready. */
    count: () => entries.length,
    /** Whether a file is still uploading. */
    busy: () => entries.some((entry) => entry.state !== 'ready'),
    /** Resolves when every upload under way has finished, one way or the other. */
    settled: () => Promise.all(entries.map((entry) => entry.done)),
    /** The uploaded attachments, for the message being sent; the tray is emptied (the files stay on the server). */
    take() {
      const taken = entries.filter((entry) => entry.state === 'ready').map((entry) => entry.attachment);
      for (const entry of [...entries]) discard(entry);
      onChange();
      return taken;
    },
  };
}

/**
 * Make `zone` take files dropped on it (`onFiles(files)`, when `enabled()`), lit up while files are dragged
 * over it with a hint: `label(types)` says what a drop will do (`types`: the MIME types dragged, when the browser
 * tells them), `iconName` and `hintClass` draw it. Anywhere no zone takes them, dropped files are ignored instead
 * of replacing the page with themselves.
 */
export function watchDrops(zone, {
  enabled, onFiles, label = () => 'Drop files to attach them', iconName = 'paperclip', hintClass = 'drop-hint',
}) {
  const text = h('span', {}, label([]));
  const hint = h('div', { class: hintClass, 'aria-hidden': 'true' },
    h('div', { class: 'drop-hint-card' }, icon(iconName), text));
  zone.append(hint);
  const light = (on, event) => {
    if (on) text.textContent = label([...(event.dataTransfer?.items || [])].map((item) => item.type));
    zone.classList.toggle('dropping', on);
  };

  zone.addEventListener('dragenter', (event) => {
    if (!carriesFiles(event) || !enabled()) return;
    event.preventDefault();
    light(true, event);
  });
  zone.addEventListener('dragover', (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = enabled() ? 'copy' : 'none';
    if (enabled() && !zone.classList.contains('dropping')) light(true, event);
  });
  // Moving between the zone's own children fires dragleave too; only leaving the zone itself counts.
  zone.addEventListener('dragleave', (event) => {
    if (!event.relatedTarget || !zone.contains(event.relatedTarget)) light(false);
  });
  zone.addEventListener('drop', (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    light(false);
    if (enabled()) onFiles([...event.dataTransfer.files]);
  });
  guardPage();
}

function carriesFiles(event) {
  return [...(event.dataTransfer?.types || [])].includes('Files');
}

let guarded = false;

// Files dragged where no zone took them (a zone's own handlers prevent the default first) are refused.
function guardPage() {
  if (guarded) return;
  guarded = true;
  for (const type of ['dragover', 'drop']) {
    window.addEventListener(type, (event) => {
      if (!carriesFiles(event) || event.defaultPrevented) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = 'none';
    });
  }
}
