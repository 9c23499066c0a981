package server

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/blindpost/blindpost/impl/server/metrics"
	"github.com/blindpost/blindpost/impl/wire"
)

// TestOnlineTruncated checks SRV-4 at its bound: at most 1000 names, sorted, and truncated set
// exactly when names were left out.
func TestOnlineTruncated(t *testing.T) {
	for _, n := range []int{0, 1, 999, 1000, 1001, 1500} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			h := newHub(&Server{metrics: metrics.New()})
			for i := range n {
				h.users[fmt.Sprintf("u%04d", n-i)] = &conn{}
			}
			names, truncated := h.online()
			if want := min(n, maxListedUsers); len(names) != want || truncated != (n > maxListedUsers) {
				t.Fatalf("%d names, truncated %v; want %d, %v", len(names), truncated, want, n > maxListedUsers)
			}
			if !slices.IsSorted(names) || (n > 0 && names[0] != "u0001") {
				t.Fatalf("names not the first %d in byte order: %v…", len(names), names[:min(3, len(names))])
			}
		})
	}
}

// TestFlowControl checks the token bucket (LIM-3) and the abuse window (LIM-4): AbuseLimit
// rejections within AbuseWindow close, spread-out rejections do not.
func TestFlowControl(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Rate, cfg.Burst, cfg.AbuseLimit, cfg.AbuseWindow = 10, 3, 4, time.Second
	now := time.Unix(1000, 0)
	f := newFlowControl(&cfg)
	for i := range 3 {
		if !f.allow(now) {
			t.Fatalf("message %d of the burst refused", i)
		}
	}
	if f.allow(now) {
		t.Fatal("a message beyond the burst was allowed")
	}
	if !f.allow(now.Add(100 * time.Millisecond)) {
		t.Fatal("the bucket did not refill at the rate")
	}
	tests := []struct {
		name  string
		gaps  []time.Duration // between rejections
		close bool
	}{
		{"fewer than the limit", []time.Duration{0, 0, 0}, false},
		{"the limit within the window", []time.Duration{0, 0, 0, 0}, true},
		{"the limit spread over more than the window", []time.Duration{0, 400 * time.Millisecond, 400 * time.Millisecond, 400 * time.Millisecond}, false},
		{"a burst after a quiet spell", []time.Duration{0, 2 * time.Second, 0, 0, 0}, true},
	}
	for _, tt := range tests {
		f := newFlowControl(&cfg)
		at, closed := now, false
		for _, gap := range tt.gaps {
			at = at.Add(gap)
			closed = f.reject(at)
		}
		if closed != tt.close {
			t.Errorf("%s: closed = %v, want %v", tt.name, closed, tt.close)
		}
	}
}

// TestErrorText checks ERR-4 and the error schema: texts are 1 to 256 characters of valid
// UTF-8, and bad_message names the pointer and keyword, not the value.
func TestErrorText(t *testing.T) {
	long := strings.Repeat("é", 300)
	for _, in := range []string{"", "ok", long, "bad \xff utf-8"} {
		out := clampText(in)
		if n := utf8.RuneCountInString(out); n < 1 || n > maxErrorText || !utf8.ValidString(out) {
			t.Errorf("clampText(%.20q) = %d characters", in, n)
		}
	}
	_, err := wire.Decode(wire.FromClient, []byte(`{"type":"get_pubkey","user":"NotAName-s3cr3t"}`))
	text := badMessageText(err)
	if !strings.Contains(text, "/user") || !strings.Contains(text, "pattern") || strings.Contains(text, "s3cr3t") {
		t.Errorf("bad_message text %q", text)
	}
	if got := badMessageText(errors.New("x")); got == "" {
		t.Error("empty text for a non-validation error")
	}
}

// TestConfigValidate checks that every invalid setting is reported, with its flag name.
func TestConfigValidate(t *testing.T) {
	if errs := (&Config{}).Validate(); len(errs) < 10 {
		t.Fatalf("the zero Config gives %d errors", len(errs))
	}
	def := DefaultConfig()
	if errs := def.Validate(); errs != nil {
		t.Fatalf("DefaultConfig is invalid: %v", errs)
	}
	tests := []struct {
		field string
		edit  func(*Config)
	}{
		{"max-message", func(c *Config) { c.MaxMessage = 100 }},
		{"rate", func(c *Config) { c.Rate = 0 }},
		{"burst", func(c *Config) { c.Burst = -1 }},
		{"queue", func(c *Config) { c.Queue = 0 }},
		{"queue-bytes", func(c *Config) { c.QueueBytes = 100 }},
		{"queue-bytes", func(c *Config) { c.MaxMessage = 300 << 10 }},
		{"max-conns", func(c *Config) { c.MaxConns = 0 }},
		{"max-users", func(c *Config) { c.MaxUsers = 0 }},
		{"max-groups", func(c *Config) { c.MaxGroups = 2000 }},
		{"max-group-members", func(c *Config) { c.MaxGroupMembers = 129 }},
		{"ping-interval", func(c *Config) { c.PingInterval = 20 * time.Second; c.PongTimeout = 39 * time.Second }},
		{"pong-timeout", func(c *Config) { c.PongTimeout = 0 }},
		{"register-timeout", func(c *Config) { c.RegisterTimeout = -time.Second }},
		// The bounds the spec guarantees clients (WS-7, WS-9, LIM-3, LIM-4, GSV-7).
		{"rate", func(c *Config) { c.Rate = 9 }},
		{"burst", func(c *Config) { c.Burst = 19 }},
		{"max-groups", func(c *Config) { c.MaxGroups = 0 }},
		{"abuse-limit", func(c *Config) { c.AbuseLimit = 9 }},
		{"abuse-window", func(c *Config) { c.AbuseWindow = 11 * time.Second }},
		{"ping-interval", func(c *Config) { c.PingInterval, c.PongTimeout = 31*time.Second, 120*time.Second }},
		{"pong-timeout", func(c *Config) { c.PongTimeout = 121 * time.Second }},
		{"register-timeout", func(c *Config) { c.RegisterTimeout = 1500 * time.Microsecond }},
		{"tls-cert", func(c *Config) { c.TLSKey = "key.pem" }},
		{"public-pin", func(c *Config) { c.PublicPin = "sha256:ABC" }},
		{"allow-origin", func(c *Config) { c.AllowOrigins = []string{"chat.example.org"} }},
		{"listen", func(c *Config) { c.Listen = "" }},
	}
	for _, tt := range tests {
		c := DefaultConfig()
		tt.edit(&c)
		errs := c.Validate()
		var ce *ConfigError
		if len(errs) != 1 || !errors.As(errs[0], &ce) || ce.Field != tt.field {
			t.Errorf("%s: Validate() = %v", tt.field, errs)
		}
	}
}

// TestOriginAllowed checks the origin policy of WS-2.
func TestOriginAllowed(t *testing.T) {
	c := DefaultConfig()
	c.AllowOrigins = []string{"https://Chat.Example.org/"}
	for origin, want := range map[string]bool{
		"":                          true, // native clients send none
		"https://chat.example.org":  true,
		"https://chat.example.org/": true,
		"http://chat.example.org":   false,
		"https://evil.example":      false,
		"null":                      false,
	} {
		if got := c.originAllowed(origin); got != want {
			t.Errorf("originAllowed(%q) = %v, want %v", origin, got, want)
		}
	}
}

// TestPeekRequest checks that a rejected message's error echoes its id and type only when they
// are unambiguous and valid (MSG-5).
func TestPeekRequest(t *testing.T) {
	tests := []struct {
		in  string
		id  string
		typ wire.RequestType
	}{
		{`{"type":"relay","id":"7","to":5}`, "7", wire.RequestTypeRelay},
		{`{"id":"a:b.c-d_e","x":{"id":"inner"},"type":"group_join"}`, "a:b.c-d_e", wire.RequestTypeGroupJoin},
		{`{"type":"relay","id":"7","id":"8"}`, "", wire.RequestTypeRelay},
		{`{"type":"relay","type":"hello","id":"7"}`, "7", ""},
		{`{"type":"subscribe","id":"7"}`, "7", ""},
		{`{"type":"relay","id":"has space"}`, "", wire.RequestTypeRelay},
		{`{"type":"relay","id":7}`, "", wire.RequestTypeRelay},
		{`{"type":"relay","id":"` + strings.Repeat("x", 65) + `"}`, "", wire.RequestTypeRelay},
		{`{"type":"relay","id":"7"} {}`, "", ""},
		{`{"type":"relay","id":"7"`, "", ""},
		{`[{"type":"relay","id":"7"}]`, "", ""},
		{`"relay"`, "", ""},
		{``, "", ""},
	}
	for _, tt := range tests {
		id, typ := peekRequest([]byte(tt.in))
		if id != tt.id || typ != tt.typ {
			t.Errorf("peekRequest(%.40q) = %q, %q; want %q, %q", tt.in, id, typ, tt.id, tt.typ)
		}
	}
}

// FuzzPeekRequest checks that reading the id and type of any rejected message never panics and
// never yields an id the schema would not allow (MSG-5, ERR-4).
func FuzzPeekRequest(f *testing.F) {
	for _, seed := range []string{`{"type":"relay","id":"7","to":5}`, `{"id":"x","id":"y"}`, `[`, `{"a":[[[[{}]]]],"type":"hello"}`, "\xff"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		id, typ := peekRequest(data)
		if id != "" && !wire.ValidID(id) {
			t.Fatalf("id %q", id)
		}
		if typ != "" && !slices.Contains(wire.RequestTypes(), typ) {
			t.Fatalf("type %q", typ)
		}
	})
}

// TestQueueFits checks the send queue's bounds (spec §5.8 [LIM-5]): messages and bytes, and
// the exception that an empty queue takes any one message.
func TestQueueFits(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Queue, cfg.QueueBytes = 3, 1000
	c := &conn{s: &Server{cfg: cfg}}
	for _, tc := range []struct {
		name     string
		queued   []int // sizes of the frames queued before
		size     int
		wantFits bool
	}{
		{"empty, small", nil, 10, true},
		{"empty, beyond the byte bound", nil, 5000, true},
		{"up to the byte bound", []int{600}, 400, true},
		{"beyond the byte bound", []int{600}, 401, false},
		{"after a large first message", []int{5000}, 1, false},
		{"at the message bound", []int{1, 1, 1}, 1, false},
		{"below the message bound", []int{1, 1}, 1, true},
	} {
		c.queue, c.pending, c.pendingB = nil, 0, 0
		for _, n := range tc.queued {
			c.addLocked(make([]byte, n))
		}
		if got := c.fitsLocked(tc.size); got != tc.wantFits {
			t.Errorf("%s: fits(%d) = %v, want %v", tc.name, tc.size, got, tc.wantFits)
		}
		c.doneLocked(len(tc.queued), sum(tc.queued))
		if c.pending != 0 || c.pendingB != 0 {
			t.Errorf("%s: after the write, %d messages and %d bytes pending", tc.name, c.pending, c.pendingB)
		}
	}
}

func sum(ns []int) int {
	t := 0
	for _, n := range ns {
		t += n
	}
	return t
}
