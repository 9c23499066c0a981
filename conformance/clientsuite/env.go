package clientsuite

import (
	"cmp"
	"crypto/tls"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/internal/tlspin"
)

// Suite is the first segment of every case id of this suite.
const Suite = "client"

// DefaultWait is how long a case waits for each response, event or message of the client.
const DefaultWait = 5 * time.Second

// DefaultStartupWait is how long a case waits for the response to connect, which includes the
// start of the driver's process.
const DefaultStartupWait = 15 * time.Second

// Config describes the client under test.
type Config struct {
	// Driver is the command line that starts the client in driver mode, for example
	// "blindpost driver"; words are split as a POSIX shell splits them (quotes and backslashes),
	// without expansions.
	Driver string
	// Env holds extra KEY=VALUE environment variables for the driver.
	Env []string
	// Dir is the driver's working directory; empty means the runner's.
	Dir string
	// Wait bounds every wait for the client (DefaultWait when 0).
	Wait time.Duration
	// StartupWait bounds the wait for the response to connect, the driver's start included
	// (DefaultStartupWait when 0).
	StartupWait time.Duration
}

// Env is what every case of the suite reaches the client with; harness.Options.Env holds it. It
// holds the relay's certificate, shared by the relays of every case.
type Env struct {
	cfg  Config
	argv []string
	cert tls.Certificate
	pin  tlspin.Pin
}

// NewEnv checks cfg, splits the driver command line and creates the relay certificate.
func NewEnv(cfg Config) (*Env, error) {
	cfg.Wait = cmp.Or(cfg.Wait, DefaultWait)
	cfg.StartupWait = cmp.Or(cfg.StartupWait, DefaultStartupWait)
	argv, err := SplitCommand(cfg.Driver)
	if err != nil {
		return nil, err
	}
	if len(argv) == 0 {
		return nil, errors.New(`clientsuite: no driver command; give --driver "CMD ARGS", for example --driver "blindpost driver"`)
	}
	// The relays' certificate, for 127.0.0.1 and localhost; the client is given its pin.
	id, err := tlspin.Ephemeral("blindpost-conform relay", 24*time.Hour)
	if err != nil {
		return nil, fmt.Errorf("clientsuite: %w", err)
	}
	return &Env{cfg: cfg, argv: argv, cert: id.Cert, pin: id.Pin}, nil
}

// Preflight checks that the driver's program exists, so that a typing error in --driver is one
// clear error rather than a failure of every case.
func (e *Env) Preflight() error {
	if _, err := exec.LookPath(e.argv[0]); err != nil {
		return fmt.Errorf("clientsuite: cannot run the driver %q: %w", e.cfg.Driver, err)
	}
	return nil
}

// Config returns the configuration with its defaults.
func (e *Env) Config() Config { return e.cfg }

// Pin returns the relay's server pin, as connect passes it (spec §4.1).
func (e *Env) Pin() string { return e.pin.String() }

// Repro returns the command line that replays only case c with seed, for harness.Options.Repro.
func (e *Env) Repro(c harness.Case, seed uint64) string {
	return fmt.Sprintf("blindpost-conform client --driver %s --seed %d --run %s", shellQuote(e.cfg.Driver), seed, c.ID)
}

// TimeoutFor gives every case of the suite a deadline that follows the configured wait: the
// longest cases wait for a few dozen answers in a row. For harness.Options.TimeoutFor.
func (e *Env) TimeoutFor(c harness.Case) time.Duration {
	if c.Suite() != Suite {
		return 0
	}
	return max(6*e.cfg.Wait, 20*time.Second) + e.cfg.StartupWait
}

// SplitCommand splits a command line into words as a POSIX shell does for quoting: single
// quotes keep everything literally, double quotes keep everything but backslash escapes of ",
// \ and $, and a backslash outside quotes escapes the next character. There are no expansions.
func SplitCommand(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words, inWord = append(words, cur.String()), false
				cur.Reset()
			}
			continue
		case c == '\\':
			if i+1 == len(s) {
				return nil, errors.New("clientsuite: driver command ends with a backslash")
			}
			i++
			cur.WriteByte(s[i])
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("clientsuite: driver command has an unterminated single quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			n, err := doubleQuoted(s[i+1:], &cur)
			if err != nil {
				return nil, err
			}
			i += n // now at the closing quote
		default:
			cur.WriteByte(c)
		}
		inWord = true
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// doubleQuoted copies the inside of a double-quoted string to b and returns how many bytes of s
// it used, the closing quote included.
func doubleQuoted(s string, b *strings.Builder) (int, error) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return i + 1, nil
		case c == '\\' && i+1 < len(s) && strings.IndexByte(`"\$`, s[i+1]) >= 0:
			i++
			b.WriteByte(s[i])
		default:
			b.WriteByte(c)
		}
	}
	return 0, errors.New("clientsuite: driver command has an unterminated double quote")
}

// QuoteCommand quotes a word, such as a program's path, for a driver command line (the
// inverse of SplitCommand for one word).
func QuoteCommand(s string) string { return shellQuote(s) }

// shellQuote quotes s as one shell word.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !strings.ContainsRune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%", r)
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// itoa formats a driver command id.
func itoa(n int) string { return strconv.Itoa(n) }
