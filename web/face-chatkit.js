// @ts-check
// The ChatKit face: OpenAI's <openai-chatkit> web component (served only from their CDN), pointed at the
// local /chatkit endpoint. Options follow ChatKitOptions in @openai/chatkit's published types (documented at
// openai.github.io/chatkit-js); tests/test_chatkit_types.py checks this file against them with tsc, so an
// option ChatKit does not know fails the tests. `setOptions` does not merge, so every update passes the full set.
// Search is ours (search.js), in a dialog above ChatKit opened by the header's left button or Ctrl+K / ⌘K.
// Export is ours too (export.js): ChatKit's header has two actions only, so a small button of ours sits beside
// it while a conversation is open (ChatKit says which in `chatkit.thread.change`), with export.js's menu.
// Import happens in Settings (import.js); when one ends, ChatKit is asked to fetch updates from the server.
// The composer's models come from /api/models (favourites first, hidden ones left out); the default among them
// is the open conversation's model (asked for when ChatKit says the thread changed), else the server's.

/** @import { ChatKitOptions, ComposerOption, ModelOption, StartScreenPrompt } from '@openai/chatkit' */

import { api, authFetch } from './client.js';
import { toast } from './dom.js';
import { exportButton } from './export.js';
import { onImported } from './import.js';
import { conversationEntities } from './references.js';
import { createSearchDialog, onSearchKey } from './search.js';
import { GREETING, PLACEHOLDER, PROMPTS } from './starters.js';

const CHATKIT_URL = 'https://cdn.platform.openai.com/deployments/chatkit/chatkit.js';
/** How long ChatKit may take to load before the built-in face takes over. */
const LOAD_TIMEOUT_MS = 4000;
/** Any non-empty key works on localhost: ChatKit only verifies domains elsewhere. */
const DOMAIN_KEY = 'chatkit-desktop-local';

function loadScript() {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = CHATKIT_URL;
    script.async = true;
    script.addEventListener('load', resolve);
    script.addEventListener('error', () => reject(new Error('chatkit.js could not be loaded')));
    document.head.append(script);
  });
}

/** Resolves true once <openai-chatkit> is defined; false if the script fails or the timeout passes first. */
export async function loadChatKit(timeoutMs = LOAD_TIMEOUT_MS) {
  const loaded = loadScript().then(() => customElements.whenDefined('openai-chatkit').then(() => true));
  const timeout = new Promise((resolve) => setTimeout(() => resolve(false), timeoutMs));
  try {
    return await Promise.race([loaded, timeout]);
  } catch {
    return false;
  }
}

const darkQuery = matchMedia('(prefers-color-scheme: dark)');

/** @param {RequestInfo | URL} input */
function sameOrigin(input) {
  const url = input instanceof Request ? input.url : String(input);
  return new URL(url, location.href).origin === location.origin;
}

/**
 * The server's models in its order (favourites first); a label two providers share says whose each one is.
 * @returns {Promise<ModelOption[]>}
 */
async function composerModels() {
  try {
    const { models } = await api('/api/models');
    /** @type {Map<string, number>} */
    const uses = new Map();
    for (const { label } of models) uses.set(label, (uses.get(label) || 0) + 1);
    return models.map(({ id, label, provider_name: provider, default: isDefault }) => ({
      id,
      label: uses.get(label) > 1 && provider ? `${label} (${provider})` : label,
      default: Boolean(isDefault),
    }));
  } catch (error) {
    toast(error.message);
    return [];
  }
}

/**
 * `models` with `threadModel` as the default when it is among them (else as the server said).
 * @param {ModelOption[]} models
 * @param {string | null} threadModel
 * @returns {ModelOption[]}
 */
function withDefault(models, threadModel) {
  if (!threadModel || !models.some((m) => m.id === threadModel)) return models;
  return models.map((m) => ({ ...m, default: m.id === threadModel }));
}

/**
 * The model conversation `threadId` last used, or null (none yet, or it cannot be read). ChatKit's protocol
 * leaves a thread's metadata out of its answers, so the server says it at its own address.
 * @param {string} threadId
 * @returns {Promise<string | null>}
 */
async function modelOfThread(threadId) {
  try {
    const { model } = await api(`/api/threads/${encodeURIComponent(threadId)}/model`);
    return typeof model === 'string' && model ? model : null;
  } catch {
    return null; // the conversation still opens; the picker keeps the default
  }
}

/**
 * The composer's attachment settings, from the server's limits (the only place they are set). If the limits
 * cannot be read, the composer offers no attachments and nothing is shown: chatting works without them.
 * @returns {Promise<ComposerOption['attachments'] | null>}
 */
async function composerAttachments() {
  try {
    const limits = await api('/api/attachments/limits');
    return { enabled: true, maxSize: limits.max_bytes, maxCount: limits.max_count, accept: limits.accept };
  } catch {
    return null;
  }
}

/** Put <openai-chatkit> into `root`; returns {refresh()} to reload the model list after Settings change. */
export async function mountChatKit(root, { openSettings }) {
  const pendingAttachments = composerAttachments(); // asked alongside the models, not after them
  let models = await composerModels();
  const attachments = await pendingAttachments;
  const chatkit = document.createElement('openai-chatkit');
  chatkit.className = 'chatkit';
  const search = createSearchDialog({
    // ChatKit has no way to scroll to one of its messages: a result opens its conversation.
    async onOpen(result) {
      try {
        await chatkit.setThreadId(result.thread_id);
      } catch (error) {
        toast(error.message || 'ChatKit could not open that conversation.');
      }
    },
  });
  // Keys pressed inside ChatKit stay in its frame; this one works wherever else the focus is.
  onSearchKey(() => search.open());

  /** @type {string | null} */
  let openThreadId = null;
  /** @type {string | null} */
  let threadModel = null; // the open conversation's model
  /** @returns {ChatKitOptions} */
  const options = () => {
    /** @type {ComposerOption} */
    const composer = { placeholder: PLACEHOLDER };
    if (models.length) composer.models = withDefault(models, threadModel);
    if (attachments) composer.attachments = attachments;
    return {
      api: {
        url: `${location.origin}/chatkit`,
        domainKey: DOMAIN_KEY,
        // Two phases: `attachments.create` answers with an upload descriptor {url, method, headers}, then
        // ChatKit sends the bytes there, either through the fetch below (our origin, so with the page's token)
        // or straight from its frame with the descriptor's headers; the server takes both.
        uploadStrategy: { type: 'two_phase' },
        // The token goes only to this app's own server, never to another origin.
        fetch: (input, init) => (sameOrigin(input) ? authFetch(input, init) : fetch(input, init)),
      },
      // Options are re-applied (theme, models): they name the conversation that is open, so none jumps back.
      initialThread: openThreadId,
      theme: { colorScheme: darkQuery.matches ? 'dark' : 'light' },
      history: { enabled: true, showDelete: true, showRename: true },
      // starters.js is plain JS, so tsc sees its icons as strings; tests/test_chatkit_types.py checks them.
      startScreen: { greeting: GREETING, prompts: /** @type {StartScreenPrompt[]} */ (PROMPTS) },
      composer,
      // `@` references another conversation (references.js); ChatKit sends the chosen one as a tag, from which
      // the server gives the model that conversation's text. The menu button types the `@` for the user.
      entities: { onTagSearch: conversationEntities, showComposerMenu: true },
      threadItemActions: { feedback: true, retry: true },
      // HeaderIcon has no magnifier; 'history' (a clock) says "search past conversations" best among them.
      header: {
        leftAction: { icon: 'history', onClick: () => search.open() },
        rightAction: { icon: 'settings-cog', onClick: () => openSettings() },
      },
    };
  };

  chatkit.addEventListener('chatkit.error', (event) => {
    const message = event.detail?.error?.message || String(event.detail?.error || '');
    toast(message || 'ChatKit ran into a problem.');
  });
  let asked = 0; // only the last thread change's answer counts
  const exporter = exportButton({ threadId: () => openThreadId, label: 'Export this conversation',
    className: 'icon-button chatkit-export' });
  exporter.hidden = true;
  chatkit.addEventListener('chatkit.thread.change', async (event) => {
    openThreadId = event.detail?.threadId || null;
    exporter.hidden = !openThreadId;
    const mine = ++asked;
    const model = openThreadId ? await modelOfThread(openThreadId) : null;
    if (mine !== asked || model === threadModel) return;
    threadModel = model;
    chatkit.setOptions(options());
  });
  root.replaceChildren(chatkit, exporter);
  // ChatKit documents no call that reloads its history list; `fetchUpdates` ("sync with the server after the
  // thread changed outside ChatKit") is the nearest it offers.
  onImported(() => {
    if (typeof chatkit.fetchUpdates === 'function') chatkit.fetchUpdates().catch(() => {});
  });
  chatkit.setOptions(options());
  darkQuery.addEventListener('change', () => chatkit.setOptions(options()));

  return {
    async refresh() {
      models = await composerModels();
      chatkit.setOptions(options());
    },
  };
}
