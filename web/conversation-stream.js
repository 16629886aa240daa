// The open conversation as plain data, and what each event of a ChatKit answer stream does to it. Nothing
// here touches the page or the network: the built-in face feeds events in and redraws the changes that come
// back, so the rules can be checked on their own with made-up event sequences.
//
// A conversation is {thread, entries}: `thread` is the open thread's metadata (null for a new chat) and each
// entry is {item, pending, stopped} in display order; a question's item carries its `attachments` as the
// server describes them, and its content may hold tags (`input_tag`, a referenced conversation) between its
// text parts; a model's reasoning is a `workflow` item of thought tasks, shown before the answer it led to.
// A stream is the answer being streamed:
// {threadId, userId, userEntry, content, attachments, assistant, failed, stopped}.

/** The text of a message item: its content parts' texts, joined, a tag as `@` and its text (as typed). */
export function textOf(item) {
  return (item.content || []).map((part) => (part.type === 'input_tag' ? `@${part.text}` : part.text || '')).join('');
}

/** An empty conversation; `thread` is the open thread's metadata, or null for a new chat. */
export function newConversation(thread = null) {
  return { thread, entries: [] };
}

/** Append a message; `pending` while it is not saved yet (a question) or still being answered (an answer). */
export function addEntry(conversation, item, { pending = false } = {}) {
  const entry = { item, pending, stopped: false };
  conversation.entries.push(entry);
  return entry;
}

export function removeEntry(conversation, entry) {
  conversation.entries = conversation.entries.filter((e) => e !== entry);
}

export function entryById(conversation, id) {
  return conversation.entries.find((e) => e.item.id === id);
}

/**
 * A stream about to start: an empty answer is added at once so the user sees it coming. `threadId` is null
 * until the server creates the thread; `userId` is the question answered again when retrying; `userEntry`,
 * `content` (its parts, with any tags) and `attachments` are the question just sent (not saved yet), kept to
 * send it again if the answer fails.
 */
export function startStream(conversation,
  { threadId = null, userId = null, userEntry = null, content = [], attachments = [] } = {}) {
  return {
    threadId,
    userId,
    userEntry,
    content,
    attachments,
    assistant: addEntry(conversation, { type: 'assistant_message', id: null, content: [] }, { pending: true }),
    failed: null,
    stopped: false,
  };
}

/**
 * Apply one stream event to the conversation and the stream. Returns what the page must redraw, in order:
 * {type: 'thread', thread, top} (a thread's metadata is new or changed; `top` moves it up the list),
 * {type: 'added', entry, before} (`before`: the entry it is shown ahead of, if not the last),
 * {type: 'changed', entry}, {type: 'removed', entry} and
 * {type: 'notice', message, kind}. Events this view has no use for change nothing.
 */
export function applyStreamEvent(conversation, stream, event) {
  switch (event.type) {
    case 'thread.created': {
      const thread = { ...event.thread };
      delete thread.items; // the items arrive as events of their own
      conversation.thread = thread;
      stream.threadId = thread.id;
      return [{ type: 'thread', thread: event.thread, top: true }];
    }
    case 'thread.updated':
      return [{ type: 'thread', thread: event.thread, top: false }];
    case 'thread.item.added':
    case 'thread.item.done':
    case 'thread.item.replaced':
      return placeItem(conversation, stream, event.item, event.type === 'thread.item.done');
    case 'thread.item.updated': {
      const entry = entryById(conversation, event.item_id);
      if (entry?.item.type === 'workflow') {
        applyTaskUpdate(entry.item, event.update);
        return [{ type: 'changed', entry }];
      }
      if (!entry || entry.item.type !== 'assistant_message') return [];
      applyUpdate(entry.item, event.update);
      return [{ type: 'changed', entry }];
    }
    case 'thread.item.removed': {
      const entry = entryById(conversation, event.item_id);
      if (!entry) return [];
      removeEntry(conversation, entry);
      if (stream.assistant === entry) stream.assistant = null;
      return [{ type: 'removed', entry }];
    }
    case 'error':
      stream.failed = event.message || 'Something went wrong while answering.';
      return [];
    case 'notice':
      return [{ type: 'notice', message: event.message, kind: event.level === 'danger' ? 'error' : 'info' }];
    default:
      return []; // stream_options, progress_update, client_effect
  }
}

function placeItem(conversation, stream, item, done) {
  if (item.type === 'user_message') {
    // The question shown before the server saved it has no id yet; the saved item takes its place.
    const unsaved = stream.userEntry && !stream.userEntry.item.id ? stream.userEntry : null;
    const entry = entryById(conversation, item.id) || unsaved;
    stream.userId = item.id;
    if (!entry) return [{ type: 'added', entry: addEntry(conversation, item) }];
    entry.item = item;
    entry.pending = false;
    return [{ type: 'changed', entry }];
  }
  if (item.type === 'workflow') return placeWorkflow(conversation, stream, item, done);
  if (item.type !== 'assistant_message') return [];
  const changes = [];
  let entry = entryById(conversation, item.id);
  if (!entry && stream.assistant && !stream.assistant.item.id) entry = stream.assistant;
  if (!entry) {
    entry = addEntry(conversation, item, { pending: !done });
    stream.assistant = entry;
    changes.push({ type: 'added', entry });
  }
  // Keep text already streamed if an "added" event arrives with empty content. The parts are copied because
  // deltas are appended to them in place.
  if (done || textOf(item) || !textOf(entry.item)) entry.item = { ...item, content: item.content.map((p) => ({ ...p })) };
  else entry.item = { ...item, content: entry.item.content };
  entry.pending = !done;
  if (stream.assistant === null || stream.assistant === entry) stream.assistant = entry;
  changes.push({ type: 'changed', entry });
  return changes;
}

// The model's thinking comes before its answer, whose empty placeholder is already on screen: it goes ahead of it.
function placeWorkflow(conversation, stream, item, done) {
  const copy = { ...item, workflow: { ...item.workflow, tasks: [...(item.workflow?.tasks || [])] } };
  const known = entryById(conversation, item.id);
  if (known) {
    known.item = copy;
    known.pending = !done;
    return [{ type: 'changed', entry: known }];
  }
  const entry = { item: copy, pending: !done, stopped: false };
  const placeholder = stream.assistant && !stream.assistant.item.id ? stream.assistant : null;
  const at = placeholder ? conversation.entries.indexOf(placeholder) : -1;
  if (at < 0) {
    conversation.entries.push(entry);
    return [{ type: 'added', entry }];
  }
  conversation.entries.splice(at, 0, entry);
  return [{ type: 'added', entry, before: placeholder }];
}

function applyTaskUpdate(item, update) {
  if (update.type === 'workflow.task.added' || update.type === 'workflow.task.updated') {
    item.workflow.tasks[update.task_index ?? item.workflow.tasks.length] = update.task;
  }
}

/** The text of a reasoning workflow: its thoughts, one paragraph each. */
export function thoughtsOf(item) {
  return (item.workflow?.tasks || []).map((task) => task.content || task.title || '').filter(Boolean).join('\n\n');
}

function applyUpdate(item, update) {
  const parts = item.content;
  const at = update.content_index ?? 0;
  switch (update.type) {
    case 'assistant_message.content_part.added':
      parts[at] = { ...update.content, text: update.content?.text || '' };
      break;
    case 'assistant_message.content_part.text_delta':
      parts[at] = parts[at] || { type: 'output_text', text: '' };
      parts[at].text = (parts[at].text || '') + (update.delta || '');
      break;
    case 'assistant_message.content_part.done':
      parts[at] = { ...update.content };
      break;
    default:
      break;
  }
}

/**
 * The stream has ended: `outcome` is {stopped: true} when the user pressed Stop, {failed: sentence} when it
 * broke off, {} when it ran to its end. An answer cut short by Stop keeps its text and is marked stopped; one
 * that never got any text is dropped. Returns what the page must redraw, as applyStreamEvent does.
 */
export function finishStream(conversation, stream, outcome = {}) {
  for (const entry of conversation.entries) {
    if (entry.item.type === 'workflow') entry.pending = false; // a thought cut short is kept as far as it got
  }
  const answer = stream.assistant;
  if (outcome.stopped && answer && textOf(answer.item)) {
    answer.stopped = true;
    answer.pending = false;
  }
  if ('failed' in outcome) stream.failed = outcome.failed;
  if (!answer) return [];
  if (answer.pending && !textOf(answer.item)) {
    removeEntry(conversation, answer);
    return [{ type: 'removed', entry: answer }];
  }
  answer.pending = false;
  return [];
}
