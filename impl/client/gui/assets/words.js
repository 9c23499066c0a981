// Security events in words a person understands (spec §9 [CLI-2]); the outcome code and the
// rule id stay in the details view.

const WORDS = {
  bad_signature: 'A signature did not verify: this did not come from who it claims to be. It was rejected.',
  bad_finished: 'The chat setup did not complete correctly; someone may have tampered with it. It was refused.',
  low_order_point: 'The other side offered an invalid key. The chat was refused.',
  bad_suite: 'No common encryption method. The chat was refused.',
  unexpected_message: 'A message arrived out of order or for a chat that has ended. It was rejected.',
  malformed: 'A malformed message arrived. It was rejected.',
  replayed_counter: 'A message arrived a second time (a replay). It was rejected.',
  reflected_record: 'One of your own messages was sent back to you. It was rejected.',
  bad_tag: 'A message failed its integrity check. The chat was ended for safety.',
  bad_content: 'A message with invalid content arrived. It was rejected.',
  unverified_end: 'The chat was ended without confirmation from the other side; it may not have been them.',
  key_changed: 'This person\u2019s identity key changed. Nothing is sent to them until you decide.',
  key_not_pinned: 'A group update listed a key other than the one you trust. It was refused.',
  stale_epoch: 'A group message or update was for the wrong round of keys. It was rejected.',
  bad_prev: 'A group update did not follow the previous one. It was refused.',
  not_listed: 'A group update did not list you, or came from someone outside the group. It was refused.',
  bad_members: 'A group update had a malformed member list. It was refused.',
  bad_wrap: 'A group key could not be opened. The update was refused.',
  bad_confirmation_tag: 'A group update handed members different keys. It was refused.',
  counter_jump: 'A group message skipped too far ahead. It was rejected.',
  forged_sender: 'A group message claimed a sender who did not sign it. It was rejected.',
  bad_epoch_ack: 'A member confirmed a different group key than yours, which may mean the group was split. It was not counted.',
};

export function securityWords(code) {
  return WORDS[code] || 'A security check failed and something was rejected.';
}

const STATES = {
  sending: 'sending…',
  relayed: 'relayed',
  delivered: 'delivered',
  failed: 'not delivered',
};

export function deliveryWords(state) { return STATES[state] || state; }

// strength estimates a passphrase's strength from its length and the kinds of characters it
// uses; it is a hint, not a rule.
export function strength(p) {
  if (!p) return { level: 0, text: 'Use several words that only you would put together.' };
  let pool = 0;
  if (/[a-z]/.test(p)) pool += 26;
  if (/[A-Z]/.test(p)) pool += 26;
  if (/[0-9]/.test(p)) pool += 10;
  if (/[^A-Za-z0-9]/.test(p)) pool += 33;
  const bits = [...p].length * Math.log2(Math.max(pool, 2));
  if ([...p].length < 10) return { level: 1, text: 'Too short: use at least 10 characters, better several words.' };
  if (bits < 50) return { level: 2, text: 'Weak: add another word or two.' };
  if (bits < 70) return { level: 3, text: 'Fair: one more word makes it strong.' };
  return { level: 4, text: 'Strong.' };
}
