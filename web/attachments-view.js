// Attachments as the reader sees them: the images and file chips of a sent message, the large view of an
// image (a <dialog>, so Escape, focus and the backdrop behave as everywhere else in the app), saving a file
// with its own name, and the word for a file's kind that the composer's tray uses too.

import { fetchBlob } from './client.js';
import { h, icon, toast } from './dom.js';

/** A short name for a file's kind: "PDF", "PNG", "PY"… (its extension), or "File". */
export function kindOf({ name = '', mime_type: mime = '' }) {
  if (mime === 'application/pdf') return 'PDF';
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 ? name.slice(dot + 1) : '';
  if (extension && extension.length <= 5) return extension.toUpperCase();
  if (mime.startsWith('image/')) return 'Image';
  if (mime.startsWith('text/')) return 'Text';
  return 'File';
}

/** Whether an attachment is shown as a picture (an image the server can preview). */
export function isImage(attachment) {
  return attachment.type === 'image' && Boolean(attachment.preview_url);
}

/** Save an attachment the server keeps under its own name: the bytes come with the token, as a Blob. */
export async function saveAttachment({ id, name }) {
  let blob;
  try {
    blob = await fetchBlob(`/api/attachments/${encodeURIComponent(id)}/file`);
  } catch (error) {
    toast(error.message);
    return;
  }
  const url = URL.createObjectURL(blob);
  const link = h('a', { href: url, download: name || 'attachment', hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  // The download has taken the bytes by the next tasks; the URL would otherwise hold them until the page goes.
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}

let lightbox = null;

/**
 * Show an image large. `src` is its preview URL (or, before sending, the page's own copy of the file);
 * `attachment` (optional, with an id) adds a Save button.
 */
export function showImage({ src, name, attachment = null }) {
  if (!lightbox) lightbox = createLightbox();
  lightbox.show({ src, name, attachment });
}

function createLightbox() {
  const image = h('img', { class: 'lightbox-image', alt: '' });
  const caption = h('span', { class: 'lightbox-name' });
  const save = h('button', { type: 'button', class: 'button small lightbox-save' }, icon('download'), 'Save');
  const close = h('button', { type: 'button', class: 'icon-button', 'aria-label': 'Close', title: 'Close',
    onclick: () => dialog.close() }, icon('close'));
  const dialog = h('dialog', { class: 'lightbox', 'aria-label': 'Image' },
    h('div', { class: 'lightbox-head' }, caption, save, close),
    h('div', { class: 'lightbox-body' }, image));
  // A click on the dim area around the picture closes it, as Escape does.
  dialog.addEventListener('click', (event) => {
    if (event.target === dialog || event.target.classList.contains('lightbox-body')) dialog.close();
  });
  dialog.addEventListener('close', () => image.removeAttribute('src'));
  let current = null;
  save.addEventListener('click', () => current && saveAttachment(current));
  document.body.append(dialog);
  return {
    show({ src, name, attachment }) {
      current = attachment;
      image.src = src;
      image.alt = name || '';
      caption.textContent = name || '';
      dialog.setAttribute('aria-label', name || 'Image');
      save.hidden = !attachment?.id;
      if (!dialog.open) dialog.showModal();
      close.focus();
    },
  };
}

/**
 * The attachments of a sent message, as one element: the pictures first, as thumbnails that open large, then
 * the other files, as chips that save them. Thumbnails have a fixed size so the conversation does not move
 * as they load.
 */
export function messageAttachments(attachments) {
  const images = attachments.filter(isImage);
  const files = attachments.filter((attachment) => !isImage(attachment));
  return h('div', { class: 'msg-attachments' },
    images.length ? h('div', { class: 'msg-images' }, images.map(thumbnail)) : null,
    files.length ? h('div', { class: 'msg-file-list' }, files.map(fileChip)) : null);
}

function thumbnail(attachment) {
  return h('button', { type: 'button', class: 'msg-image', title: attachment.name,
    'aria-label': `View ${attachment.name}`,
    onclick: () => showImage({ src: attachment.preview_url, name: attachment.name, attachment }) },
  h('img', { src: attachment.preview_url, alt: attachment.name, decoding: 'async' }));
}

function fileChip(attachment) {
  return h('button', { type: 'button', class: 'msg-file', title: `Save ${attachment.name}`,
    'aria-label': `Save ${attachment.name}`, onclick: () => saveAttachment(attachment) },
  h('span', { class: 'file-badge' }, icon('file')),
  h('span', { class: 'file-text' },
    h('span', { class: 'file-name' }, attachment.name),
    h('span', { class: 'file-meta' }, kindOf(attachment))),
  icon('download'));
}
