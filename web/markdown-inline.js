// The inline half of the Markdown renderer (markdown.js has the blocks): emphasis, strikethrough, inline
// code, links, <autolinks> and bare URLs inside one block's text, built as DOM nodes, never as HTML. Only
// http:, https: and mailto: addresses become links (isSafeUrl); any other target stays visible as text.

const SAFE_SCHEME = /^(https?:\/\/|mailto:)/i;
const PUNCT = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/;
const BARE_URL = /^https?:\/\/[^\s<>"]*[^\s<>".,:;!?'")\]*_~]/i;

/** Render inline Markdown into an array of nodes (text nodes and elements). */
export function inline(text, depth = 0) {
  const out = [];
  let buffer = '';
  const flush = () => {
    if (buffer) out.push(document.createTextNode(buffer));
    buffer = '';
  };
  const push = (node) => {
    flush();
    out.push(node);
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const rest = text.slice(i);
    if (c === '\\' && i + 1 < text.length && PUNCT.test(text[i + 1])) {
      buffer += text[i + 1];
      i += 2;
      continue;
    }
    if (c === '\n') {
      push(document.createElement('br'));
      i += 1;
      continue;
    }
    if (c === '`') {
      const run = /^`+/.exec(rest)[0];
      const close = text.indexOf(run, i + run.length);
      if (close !== -1) {
        let code = text.slice(i + run.length, close).replace(/\n/g, ' ');
        if (/^ .*[^ ].* $/.test(code)) code = code.slice(1, -1);
        push(el('code', code));
        i = close + run.length;
        continue;
      }
      buffer += run;
      i += run.length;
      continue;
    }
    if (c === '!' && text[i + 1] === '[') {
      const link = linkAt(text, i + 1);
      if (link) {
        // Images never load: they become a link to the picture (or plain text if the address is unsafe).
        const label = link.label || 'image';
        if (isSafeUrl(link.url)) push(anchor(link.url, [document.createTextNode(`🖼 ${label}`)]));
        else buffer += text.slice(i, link.end);
        i = link.end;
        continue;
      }
    }
    if (c === '[') {
      const link = linkAt(text, i);
      if (link) {
        if (isSafeUrl(link.url)) push(anchor(link.url, depth < 6 ? inline(link.label, depth + 1) : [link.label]));
        else buffer += text.slice(i, link.end); // an unsafe link stays visible as the text it is
        i = link.end;
        continue;
      }
    }
    if (c === '<') {
      const auto = /^<((?:https?:\/\/|mailto:)[^\s<>]+)>/i.exec(rest);
      if (auto && isSafeUrl(auto[1])) {
        push(anchor(auto[1], [document.createTextNode(auto[1].replace(/^mailto:/i, ''))]));
        i += auto[0].length;
        continue;
      }
    }
    if ((c === 'h' || c === 'H') && !/\w/.test(text[i - 1] || '')) {
      const bare = BARE_URL.exec(rest);
      if (bare && isSafeUrl(bare[0])) {
        push(anchor(bare[0], [document.createTextNode(bare[0])]));
        i += bare[0].length;
        continue;
      }
    }
    if (c === '*' || c === '_' || c === '~') {
      const span = emphasisAt(text, i, depth);
      if (span) {
        push(span.node);
        i = span.end;
        continue;
      }
      const run = new RegExp(`^\\${c}+`).exec(rest)[0];
      buffer += run;
      i += run.length;
      continue;
    }
    buffer += c;
    i += 1;
  }
  flush();
  return out;
}

/** An element with the given children (nodes or strings, which become text nodes). */
export function el(tag, ...children) {
  const node = document.createElement(tag);
  for (const child of children) node.append(child);
  return node;
}

/** Whether a link target may become a clickable link. */
function isSafeUrl(url) {
  if (!SAFE_SCHEME.test(url)) return false;
  try {
    const parsed = new URL(url);
    return ['http:', 'https:', 'mailto:'].includes(parsed.protocol);
  } catch {
    return false;
  }
}

function anchor(url, children) {
  const a = document.createElement('a');
  a.href = url;
  a.rel = 'noopener noreferrer';
  a.target = '_blank';
  a.append(...children);
  return a;
}

/** `[label](url "title")` starting at `start` (the `[`): {label, url, end} or null. */
function linkAt(text, start) {
  let depth = 0;
  let i = start;
  for (; i < text.length; i += 1) {
    const c = text[i];
    if (c === '\\') {
      i += 1;
    } else if (c === '[') {
      depth += 1;
    } else if (c === ']') {
      depth -= 1;
      if (depth === 0) break;
    } else if (c === '\n' && text[i + 1] === '\n') {
      return null;
    }
  }
  if (depth !== 0 || text[i + 1] !== '(') return null;
  const label = text.slice(start + 1, i);
  const target = /^\(\s*(<[^<>\n]*>|(?:[^\s()]|\([^\s()]*\))*)(?:\s+("[^"]*"|'[^']*'))?\s*\)/.exec(text.slice(i + 1));
  if (!target) return null;
  let url = target[1];
  if (url.startsWith('<')) url = url.slice(1, -1);
  return { label, url: url.trim(), end: i + 1 + target[0].length };
}

/** `**strong**`, `*em*`, `__strong__`, `_em_`, `~~del~~` starting at `start`: {node, end} or null. */
function emphasisAt(text, start, depth) {
  const c = text[start];
  const run = /^([*_~])\1*/.exec(text.slice(start))[0];
  if (c === '~' && run.length !== 2) return null;
  const size = c === '~' ? 2 : Math.min(run.length, 3);
  const marker = c.repeat(size);
  const after = text[start + size];
  if (!after || /\s/.test(after)) return null;
  if (c === '_' && /\w/.test(text[start - 1] || '')) return null; // snake_case stays as it is
  let search = start + size;
  while (search < text.length) {
    const close = text.indexOf(marker, search);
    if (close === -1) return null;
    const before = text[close - 1];
    const next = text[close + size];
    const escaped = before === '\\';
    const partOfLonger = next === c && size < 3;
    const wordAfter = c === '_' && /\w/.test(next || '');
    if (close > start + size && !/\s/.test(before) && !escaped && !partOfLonger && !wordAfter) {
      const inner = text.slice(start + size, close);
      const children = depth < 6 ? inline(inner, depth + 1) : [document.createTextNode(inner)];
      let node;
      if (c === '~') node = el('del', ...children);
      else if (size === 1) node = el('em', ...children);
      else if (size === 2) node = el('strong', ...children);
      else node = el('strong', el('em', ...children));
      return { node, end: close + size };
    }
    search = close + (partOfLonger ? 2 : 1);
  }
  return null;
}
