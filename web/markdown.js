// A small, safe Markdown renderer for chat messages, written for this app.
//
// Safety comes from how the output is made, not from cleaning it: the text is cut into blocks and inline
// pieces and every piece becomes DOM nodes built with createElement/createTextNode, so any HTML in the
// text (`<img onerror=…>`, `<script>`) is shown as the characters it is and never parsed. Links become
// <a> only for http:, https: and mailto: addresses; anything else (`javascript:`, `data:`, relative paths)
// stays plain text. Images are shown as links, so an answer cannot make the page load anything.
//
// Supported: paragraphs (single newlines are kept as line breaks), ATX headings, emphasis/strong,
// strikethrough, inline code, fenced code blocks, ordered/unordered (nested) lists, blockquotes, horizontal
// rules, pipe tables, links, <autolinks> and bare http(s) URLs. A fence still open at the end (a streaming
// answer) renders as code so far.
//
// This module cuts the text into blocks (and renders tables and lists); markdown-inline.js renders the
// inline pieces inside them and decides which link targets are safe.

import { el, inline } from './markdown-inline.js';

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/;
const HEADING = /^ {0,3}(#{1,6})(?:\s+(.*?))?(?:\s+#+)?\s*$/;
const RULE = /^ {0,3}([-*_])(?:\s*\1){2,}\s*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const ITEM = /^( *)([-*+]|\d{1,9}[.)])(?:[ \t]+(.*))?$/;
const TABLE_RULE = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;

/** Render Markdown text into a DocumentFragment. */
export function renderMarkdown(text) {
  const fragment = document.createDocumentFragment();
  const lines = String(text ?? '').replace(/\r\n?/g, '\n').replace(/\t/g, '    ').split('\n');
  for (const node of blocks(lines, 0)) fragment.append(node);
  return fragment;
}

function isBlank(line) {
  return !line || !line.trim();
}

function startsBlock(line) {
  return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) || ITEM.test(line);
}

function blocks(lines, depth) {
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (isBlank(line)) {
      i += 1;
      continue;
    }
    let match;
    if ((match = FENCE.exec(line))) {
      const fence = match[1];
      const code = [];
      i += 1;
      while (i < lines.length && !new RegExp(`^ {0,3}${fence[0]}{${fence.length},}\\s*$`).test(lines[i])) {
        code.push(lines[i]);
        i += 1;
      }
      if (i >= lines.length) while (code.length && isBlank(code[code.length - 1])) code.pop(); // still open
      i += 1; // the closing fence (or the end)
      const codeEl = el('code', code.join('\n'));
      if (match[2]) {
        codeEl.className = `language-${match[2].replace(/[^\w+-]/g, '')}`;
        codeEl.dataset.lang = match[2];
      }
      out.push(el('pre', codeEl));
      continue;
    }
    if ((match = HEADING.exec(line))) {
      out.push(el(`h${match[1].length}`, ...inline(match[2] || '')));
      i += 1;
      continue;
    }
    if (RULE.test(line)) {
      out.push(document.createElement('hr'));
      i += 1;
      continue;
    }
    if (QUOTE.test(line)) {
      const quoted = [];
      while (i < lines.length && !isBlank(lines[i])) {
        const q = QUOTE.exec(lines[i]);
        if (!q && startsBlock(lines[i])) break;
        quoted.push(q ? q[1] : lines[i]);
        i += 1;
      }
      out.push(el('blockquote', ...(depth < 8 ? blocks(quoted, depth + 1) : [quoted.join('\n')])));
      continue;
    }
    if (ITEM.test(line)) {
      const [list, next] = listAt(lines, i, depth);
      out.push(list);
      i = next;
      continue;
    }
    if (isTableStart(lines, i)) {
      const [table, next] = tableAt(lines, i);
      out.push(table);
      i = next;
      continue;
    }
    const para = [];
    while (i < lines.length && !isBlank(lines[i]) && !(para.length && startsBlock(lines[i]))) {
      para.push(lines[i].trim());
      i += 1;
    }
    out.push(el('p', ...inline(para.join('\n'))));
  }
  return out;
}

function listAt(lines, start, depth) {
  const first = ITEM.exec(lines[start]);
  const indent = first[1].length;
  const ordered = /\d/.test(first[2]);
  const list = document.createElement(ordered ? 'ol' : 'ul');
  if (ordered) {
    const n = parseInt(first[2], 10);
    if (n !== 1) list.start = n;
  }
  let i = start;
  let loose = false;
  const items = [];
  while (i < lines.length) {
    const m = ITEM.exec(lines[i]);
    if (!m || m[1].length !== indent || /\d/.test(m[2]) !== ordered) break;
    const contentIndent = indent + m[2].length + 1;
    const body = [m[3] || ''];
    i += 1;
    let sawBlank = false;
    while (i < lines.length) {
      const line = lines[i];
      if (isBlank(line)) {
        sawBlank = true;
        body.push('');
        i += 1;
        continue;
      }
      const lead = line.length - line.trimStart().length;
      const sub = ITEM.exec(line);
      if (sub && sub[1].length <= indent) break; // a sibling item or an outer list
      if (lead < contentIndent && !sub && (sawBlank || startsBlock(line))) break;
      if (sawBlank && lead >= contentIndent) loose = true;
      body.push(lead >= contentIndent ? line.slice(contentIndent) : line.trimStart());
      sawBlank = false;
      i += 1;
    }
    while (body.length && isBlank(body[body.length - 1])) body.pop();
    items.push(body);
    if (sawBlank) {
      const next = i < lines.length ? ITEM.exec(lines[i]) : null;
      if (!next || next[1].length !== indent || /\d/.test(next[2]) !== ordered) break; // the list ends here
      loose = true; // items separated by blank lines get paragraph spacing
    }
  }
  for (const body of items) {
    const li = document.createElement('li');
    const content = depth < 8 ? blocks(body, depth + 1) : [el('p', body.join('\n'))];
    for (const node of content) {
      // Tight lists show their text without paragraph spacing.
      if (!loose && node.tagName === 'P') li.append(...node.childNodes);
      else li.append(node);
    }
    list.append(li);
  }
  return [list, i];
}

function isTableStart(lines, i) {
  const rule = lines[i + 1];
  return lines[i].includes('|') && rule !== undefined && rule.includes('-') && TABLE_RULE.test(rule) &&
    cells(lines[i]).length === cells(rule).length;
}

function cells(line) {
  let row = line.trim();
  if (row.startsWith('|')) row = row.slice(1);
  if (row.endsWith('|') && !row.endsWith('\\|')) row = row.slice(0, -1);
  return row.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, '|'));
}

function tableAt(lines, start) {
  const head = cells(lines[start]);
  const aligns = cells(lines[start + 1]).map((spec) => {
    if (spec.startsWith(':') && spec.endsWith(':')) return 'center';
    if (spec.endsWith(':')) return 'right';
    return spec.startsWith(':') ? 'left' : '';
  });
  const row = (values, tag) =>
    el(
      'tr',
      ...head.map((_, index) => {
        const cell = el(tag, ...inline(values[index] ?? ''));
        if (aligns[index]) cell.style.textAlign = aligns[index];
        return cell;
      }),
    );
  const body = document.createElement('tbody');
  let i = start + 2;
  while (i < lines.length && !isBlank(lines[i]) && lines[i].includes('|')) {
    body.append(row(cells(lines[i]), 'td'));
    i += 1;
  }
  const wrap = el('div', el('table', el('thead', row(head, 'th')), body));
  wrap.className = 'table-wrap';
  return [wrap, i];
}
