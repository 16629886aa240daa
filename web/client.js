// The page's only way to the local server: the access token, JSON calls, the ChatKit event stream, and
// attachment bytes up (with progress) and down.
//
// The token arrives once in the address (`/?token=…`), is kept in sessionStorage for reloads and removed
// from the address bar so it does not linger in history or screenshots. Every call but `/health` carries
// it as `Authorization: Bearer …`; a 401 means the page was not opened from the app, and `onUnauthorized`
// replaces the page with the message that says so.

const TOKEN_KEY = 'chatkit-desktop-token';
let token = null;
let unauthorized = () => {};

/** Read the token from the address (once) or from sessionStorage; returns it or null. */
export function takeToken() {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl !== null) {
    url.searchParams.delete('token');
    history.replaceState(history.state, '', url.pathname + url.search + url.hash);
    if (fromUrl) sessionStorage.setItem(TOKEN_KEY, fromUrl);
  }
  token = fromUrl || sessionStorage.getItem(TOKEN_KEY) || null;
  return token;
}

/** Called (once) when the server says the token is missing or wrong. */
export function onUnauthorized(handler) {
  unauthorized = handler;
}

/** A failed call, with the server's one-sentence reason as its message. */
class ApiError extends Error {
  constructor(message, status = 0) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

const UNREACHABLE = 'ChatKit Desktop is not answering — is the app still running?';

/** `fetch` with the token added; `input` and `init` are as for fetch. Used by ChatKit's `api.fetch` too. */
export async function authFetch(input, init = {}) {
  const headers = new Headers(init.headers || (input instanceof Request ? input.headers : undefined));
  headers.set('Authorization', `Bearer ${token}`);
  const response = await fetch(input, { ...init, headers });
  if (response.status === 401) unauthorized();
  return response;
}

async function errorOf(response) {
  let message = '';
  try {
    const body = await response.json();
    if (body && typeof body.error === 'string') message = body.error;
  } catch {
    // not JSON: fall through to the generic sentence
  }
  return new ApiError(message || `The app answered with an error (HTTP ${response.status}).`, response.status);
}

async function send(path, { method = 'GET', body, signal } = {}) {
  const init = { method, signal, headers: {} };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  let response;
  try {
    response = await authFetch(path, init);
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(UNREACHABLE);
  }
  if (!response.ok) throw await errorOf(response);
  return response;
}

/** A JSON call to `/api/*`; resolves to the parsed body, rejects with ApiError. */
export async function api(path, options) {
  const response = await send(path, options);
  return response.json();
}

/** A non-streaming ChatKit request (`threads.list`, `items.list`, `threads.update`, …). */
export async function chatkit(type, params) {
  const response = await send('/chatkit', { method: 'POST', body: { type, params } });
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

/**
 * A streaming ChatKit request. Calls `onEvent(event)` for each `data:` line as it arrives and resolves when
 * the stream ends. Aborting `signal` stops it (the server keeps what was answered so far).
 */
export async function chatkitStream(type, params, { signal, onEvent }) {
  const response = await send('/chatkit', { method: 'POST', body: { type, params }, signal });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (error) {
      if (error.name === 'AbortError' || signal?.aborted) throw new DOMException('Stopped', 'AbortError');
      throw new ApiError('The connection to ChatKit Desktop broke off mid-answer.');
    }
    if (chunk.done) break;
    buffer += chunk.value.replace(/\r/g, '');
    let end;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      dispatch(buffer.slice(0, end), onEvent);
      buffer = buffer.slice(end + 2);
    }
  }
  if (buffer.trim()) dispatch(buffer, onEvent);
}

function dispatch(block, onEvent) {
  const data = block
    .split('\n')
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5))
    .join('\n');
  if (!data) return;
  let event;
  try {
    event = JSON.parse(data);
  } catch {
    return; // a line we cannot read is skipped, not fatal
  }
  onEvent(event);
}

/**
 * Send a file's bytes as an attachment's upload descriptor says (`{url, method, headers}`); resolves to the
 * attachment as the server now has it, rejects with the server's sentence. XMLHttpRequest rather than fetch:
 * only it reports upload progress, as `onProgress(fraction)`. Aborting `signal` cancels the upload.
 */
export function upload(descriptor, body, { onProgress, signal } = {}) {
  return new Promise((resolve, reject) => {
    const target = localPath(descriptor.url);
    if (target === null) {
      // The page's token goes to this app's server only, whatever an upload descriptor says.
      reject(new ApiError('The upload address is not this app’s own; the file was not sent.'));
      return;
    }
    const xhr = new XMLHttpRequest();
    xhr.open(descriptor.method || 'PUT', target);
    // The descriptor carries a capability for this one upload; the page's own token is the fallback.
    const headers = { Authorization: `Bearer ${token}`, ...(descriptor.headers || {}) };
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.responseType = 'text';
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && onProgress) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      let parsed = null;
      try {
        parsed = JSON.parse(xhr.responseText);
      } catch {
        // not JSON: the generic sentence below
      }
      if (xhr.status >= 200 && xhr.status < 300 && parsed) return resolve(parsed);
      if (xhr.status === 401) unauthorized();
      const message = typeof parsed?.error === 'string' ? parsed.error : '';
      reject(new ApiError(message || `The app answered with an error (HTTP ${xhr.status}).`, xhr.status));
    };
    xhr.onerror = () => reject(new ApiError(UNREACHABLE));
    xhr.onabort = () => reject(new DOMException('Cancelled', 'AbortError'));
    if (signal?.aborted) return reject(new DOMException('Cancelled', 'AbortError'));
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(body);
  });
}

// The server names its own address in upload URLs; when the page was opened under another loopback name
// (localhost for 127.0.0.1), the same path on the page's own origin avoids a cross-origin request.
/** The path of `url` on this app's server (127.0.0.1 or localhost on the page's port), or null for any other. */
function localPath(url) {
  const parsed = new URL(url, location.href);
  const loopback = parsed.hostname === '127.0.0.1' || parsed.hostname === 'localhost';
  return loopback && parsed.port === location.port ? parsed.pathname + parsed.search : null;
}

/** A file the server keeps (`/api/attachments/<id>/file`), as a Blob; rejects with the server's sentence. */
export async function fetchBlob(path) {
  const response = await send(path);
  return response.blob();
}

/** `GET /health` (open): `{status, chat_ready}`. */
export async function health() {
  const response = await fetch('/health', { cache: 'no-store' });
  return response.json();
}
