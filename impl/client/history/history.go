// Package history keeps a client's conversation history on disk, encrypted (spec §9 [CLI-24],
// Appendix C): one line per entry, each the base64 of a random 12-byte nonce followed by the
// AES-256-GCM encryption of the entry's JSON, under a key derived with HKDF-SHA256 from the
// identity seed. The key is therefore exactly as protected as the seed, which the identity
// passphrase encrypts; nothing is ever written in plaintext.
//
// The file is append-only: a sent message, a received one, a change of a sent message's
// delivery state and a "read" mark are each one entry, folded together when the file is read.
package history

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sync"
	"time"
)

// keyInfo is the HKDF info of the history key (spec Appendix C). It is local to the reference
// client and never sent.
const keyInfo = "blindpost history v1"

// adLabel is the associated data of every entry, so that no other AES-GCM ciphertext made with
// the same key could pass for one.
const adLabel = "blindpost history entry"

// maxLine bounds one line of the file: an entry holds at most a 4096-character text.
const maxLine = 64 << 10

// ErrUndecryptable means the file was not written under this identity's key, or was damaged.
var ErrUndecryptable = errors.New("history: the history file cannot be decrypted with this identity (another identity's file, or damaged)")

// Entry kinds.
const (
	KindIn    = "in"    // a message received
	KindOut   = "out"   // a message sent
	KindState = "state" // the delivery state of a sent message changed
	KindRead  = "read"  // the user read the conversation up to At
)

// Entry is one line of the history. Exactly one of Peer (1:1) and Group is set.
type Entry struct {
	Kind    string `json:"kind"`
	Peer    string `json:"peer,omitempty"`
	Group   string `json:"group,omitempty"`
	Session string `json:"session,omitempty"`
	From    string `json:"from,omitempty"`
	Text    string `json:"text,omitempty"`
	At      int64  `json:"at"` // milliseconds since the Unix epoch
	N       uint64 `json:"n"`
	State   string `json:"state,omitempty"` // out and state: relayed, delivered, failed
}

// Message is a message of a conversation as a user interface shows it.
type Message struct {
	From      string
	Text      string
	At        time.Time
	N         uint64
	Direction string // "in" or "out"
	State     string // for sent 1:1 messages: "", relayed, delivered or failed
	Session   string
}

// Conversation summarises one conversation.
type Conversation struct {
	Peer   string // set for a 1:1 conversation
	Group  string // set for a group
	Unread int
	LastAt time.Time
}

// Store is an open history file. Its methods are safe for concurrent use, and a nil *Store
// records nothing (history turned off).
type Store struct {
	path string
	aead cipher.AEAD

	mu      sync.Mutex
	f       *os.File
	entries []Entry
}

// Key derives the history key from an identity seed (spec Appendix C).
func Key(seed []byte) ([]byte, error) {
	k, err := hkdf.Key(sha256.New, seed, nil, keyInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("history: derive key: %w", err)
	}
	return k, nil
}

// Open opens (or creates, mode 0600) the history file at path under key, reading every entry.
// A file written under another key fails with ErrUndecryptable.
func Open(path string, key []byte) (*Store, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	s := &Store{path: path, aead: aead}
	if err := s.load(); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("history: %w", err)
	}
	s.f = f
	return s, nil
}

func (s *Store) load() error {
	data, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		e, err := s.open(sc.Bytes())
		if err != nil {
			return fmt.Errorf("%w: %s line %d", err, s.path, line)
		}
		s.entries = append(s.entries, e)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("history: %s: %w", s.path, err)
	}
	return nil
}

func (s *Store) open(line []byte) (Entry, error) {
	raw, err := base64.StdEncoding.DecodeString(string(line))
	ns := s.aead.NonceSize()
	if err != nil || len(raw) < ns+s.aead.Overhead() {
		return Entry{}, ErrUndecryptable
	}
	pt, err := s.aead.Open(nil, raw[:ns], raw[ns:], []byte(adLabel))
	if err != nil {
		return Entry{}, ErrUndecryptable
	}
	var e Entry
	if err := json.Unmarshal(pt, &e); err != nil {
		return Entry{}, fmt.Errorf("history: an entry is not JSON: %w", err)
	}
	return e, nil
}

func (s *Store) seal(e Entry) ([]byte, error) {
	pt, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce) // crypto/rand.Read never fails
	ct := s.aead.Seal(nonce, nonce, pt, []byte(adLabel))
	clear(pt)
	line := make([]byte, base64.StdEncoding.EncodedLen(len(ct))+1)
	base64.StdEncoding.Encode(line, ct)
	line[len(line)-1] = '\n'
	return line, nil
}

// Add appends e to the file and the in-memory history.
func (s *Store) Add(e Entry) error {
	if s == nil {
		return nil
	}
	line, err := s.seal(e)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return errors.New("history: closed")
	}
	if _, err := s.f.Write(line); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	s.entries = append(s.entries, e)
	return nil
}

// Close closes the file.
func (s *Store) Close() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

// Clear deletes the history file at path (blindpost history clear). A missing file is not an
// error.
func Clear(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("history: %w", err)
	}
	return nil
}

// Messages returns the messages of the conversation with peer (or of group), oldest first,
// the last limit of them when limit > 0, with each sent message's latest delivery state.
func (s *Store) Messages(peer, group string, limit int) []Message {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	index := map[string]int{} // session/n of a sent message -> its place in out
	for _, e := range s.entries {
		if e.Peer != peer || e.Group != group {
			continue
		}
		key := e.Session + "/" + fmt.Sprint(e.N)
		switch e.Kind {
		case KindIn, KindOut:
			if e.Kind == KindOut {
				index[key] = len(out)
			}
			out = append(out, Message{From: e.From, Text: e.Text, At: time.UnixMilli(e.At), N: e.N,
				Direction: e.Kind, State: e.State, Session: e.Session})
		case KindState:
			if i, ok := index[key]; ok && out[i].State != "delivered" {
				out[i].State = e.State
			}
		}
	}
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out
}

// Conversations lists every conversation, the most recent first, with the number of messages
// received since the user last read it.
func (s *Store) Conversations() []Conversation {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	type key struct{ peer, group string }
	byKey := map[key]*Conversation{}
	var order []key
	for _, e := range s.entries {
		k := key{e.Peer, e.Group}
		c := byKey[k]
		if c == nil {
			c = &Conversation{Peer: e.Peer, Group: e.Group}
			byKey[k] = c
			order = append(order, k)
		}
		switch e.Kind {
		case KindIn:
			c.Unread++
			c.LastAt = time.UnixMilli(e.At)
		case KindOut:
			c.LastAt = time.UnixMilli(e.At)
		case KindRead:
			c.Unread = 0
		}
	}
	out := make([]Conversation, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	slices.SortStableFunc(out, func(a, b Conversation) int { return b.LastAt.Compare(a.LastAt) })
	return out
}

// MarkRead records that the user read the conversation with peer (or group).
func (s *Store) MarkRead(peer, group string) error {
	return s.Add(Entry{Kind: KindRead, Peer: peer, Group: group, At: time.Now().UnixMilli()})
}
