// What a new conversation offers, the same in both faces: a greeting and a few starter prompts.

export const GREETING = 'What can I help with today?';
export const PLACEHOLDER = 'Ask anything';

/** Starter prompts; `icon` is one of ChatKit's built-in icon names (ChatKitIcon). */
export const PROMPTS = [
  { label: 'Explain something simply', prompt: 'Explain how public-key cryptography works, simply.', icon: 'lightbulb' },
  { label: 'Help me write', prompt: 'Help me write a short, friendly email asking to reschedule a meeting.', icon: 'write' },
  { label: 'Review some code', prompt: 'Review this code and suggest improvements:\n\n', icon: 'square-code' },
  { label: 'Plan my week', prompt: 'Help me plan a realistic week around these tasks:\n\n', icon: 'calendar' },
];
