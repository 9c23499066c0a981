package mutants

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/blindpost/blindpost/impl/wire"
)

// Role is the implementation a mutant changes, and so the suite that must kill it.
type Role string

// The two roles: the reference server (impl/server, the key checks it shares with the
// client, impl/e2ee/identity, and the codec, impl/wire, whose relay scanner only it uses) and
// the reference client (impl/client and the crypto it uses, impl/e2ee).
const (
	Server Role = "server"
	Client Role = "client"
)

// roleDirs are the directories a mutant of each role may change.
var roleDirs = map[Role][]string{
	Server: {"impl/server/", "impl/e2ee/identity/", "impl/wire/"},
	Client: {"impl/client/", "impl/e2ee/"},
}

// Mutant is one curated bug: a snippet of one file of the reference implementation and its
// replacement.
type Mutant struct {
	ID      string   `json:"id"`                // the file name without .txtar: "01-reg-proof-unchecked"
	Role    Role     `json:"role"`              // server or client
	Rule    string   `json:"rule"`              // the rule of spec/protocol.md the bug breaks: "REG-3"
	Bug     string   `json:"bug"`               // one line: what the mutated implementation does wrong
	File    string   `json:"file"`              // the file it changes, relative to the module root
	Run     []string `json:"run,omitempty"`     // blindpost-conform --run patterns; empty: the rule's area
	Find    string   `json:"-"`                 // the snippet, without the newline that ends its section
	Replace string   `json:"-"`                 // its replacement
	Source  string   `json:"source"`            // where the mutant was read from, for messages
	Pending bool     `json:"pending,omitempty"` // a mutant of pending/: a known gap of the suites

	// ServerFlags are more blindpost-server flags for a server mutant whose rule needs a relay
	// configured otherwise (--registration invite); SuiteFlags tell the server suite the same
	// (blindpost-conform server --registration invite). In SuiteFlags, {invite} stands for an
	// invite code the relay issues once it runs (blindpost-server invites create).
	ServerFlags []string `json:"server_flags,omitempty"`
	SuiteFlags  []string `json:"suite_flags,omitempty"`

	// Cluster, for a server mutant of the cluster code (spec §5.11), is how many relay
	// processes form one cluster with embedded NATS; the suite is given all their URLs. Zero:
	// one relay, the default.
	Cluster int `json:"cluster,omitempty"`
}

// maxCluster bounds the cluster directive: each node is a process with its own NATS server, and
// CI runs the mutants on two cores.
const maxCluster = 5

// Patterns returns the --run patterns of the cases run against the mutant: its Run lines, or
// else the area of its rule ("REG-" for "REG-3").
func (m *Mutant) Patterns() []string {
	if len(m.Run) > 0 {
		return m.Run
	}
	area, _, _ := strings.Cut(m.Rule, "-")
	return []string{area + "-"}
}

var (
	idRE = regexp.MustCompile(`^[0-9]{2,3}-[a-z0-9]+(-[a-z0-9]+)*$`)
)

// definitions are the curated mutants of this directory, and in pending/ the mutants that the
// suites do not kill yet: each one documents a missing case (conformance/README.md lists them)
// and moves up here once the case exists.
//
//go:embed *.txtar pending
var definitions embed.FS

// All returns the curated mutants, ordered by id.
func All() ([]*Mutant, error) {
	ms, err := loadDir(".", "conformance/mutants/")
	if err == nil && len(ms) == 0 {
		return nil, errors.New("mutants: no *.txtar mutant found in conformance/mutants")
	}
	return ms, err
}

// Pending returns the mutants of pending/, ordered by id; none when the suites have no known gap.
func Pending() ([]*Mutant, error) {
	ms, err := loadDir("pending", "conformance/mutants/pending/")
	for _, m := range ms {
		m.Pending = true
	}
	return ms, err
}

// loadDir loads the mutants of one directory of definitions; prefix is that directory's path
// in the repository, for messages.
func loadDir(dir, prefix string) ([]*Mutant, error) {
	sub, err := fs.Sub(definitions, dir)
	if err != nil {
		return nil, fmt.Errorf("mutants: %w", err)
	}
	return load(sub, prefix)
}

// Load parses every *.txtar file at the root of fsys, ordered by id. Every malformed file is
// reported, not only the first.
func Load(fsys fs.FS) ([]*Mutant, error) { return load(fsys, "") }

// load is Load with prefix put before every file name, in Source and in errors.
func load(fsys fs.FS, prefix string) ([]*Mutant, error) {
	names, err := fs.Glob(fsys, "*.txtar")
	if err != nil {
		return nil, fmt.Errorf("mutants: %w", err)
	}
	slices.Sort(names)
	var (
		out  []*Mutant
		errs []error
	)
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("mutants: %w", err))
			continue
		}
		m, err := Parse(prefix+name, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, m)
	}
	return out, errors.Join(errs...)
}

// Parse reads one mutant file, whose name gives the id. The format is txtar: a header of
// "key: value" lines (and "#" comments), then the sections "-- find --" and "-- replace --".
// The newline that ends each section is not part of its snippet.
func Parse(name string, data []byte) (*Mutant, error) {
	id := strings.TrimSuffix(path.Base(name), ".txtar")
	m := &Mutant{ID: id, Source: name}
	header, sections := splitTxtar(data)
	err := m.parseHeader(header)
	if err == nil {
		err = m.setSections(sections)
	}
	if err == nil {
		err = m.check()
	}
	if err != nil {
		return nil, fmt.Errorf("mutants: %s: %w", name, err)
	}
	return m, nil
}

// splitTxtar splits a txtar text into its header and its named sections, in order.
func splitTxtar(data []byte) (header string, sections []section) {
	lines := strings.SplitAfter(string(data), "\n")
	var cur *section
	var head strings.Builder
	for i, line := range lines {
		if name, ok := sectionName(line); ok {
			sections = append(sections, section{name: name, line: i + 1})
			cur = &sections[len(sections)-1]
			continue
		}
		if cur == nil {
			head.WriteString(line)
		} else {
			cur.body.WriteString(line)
		}
	}
	return head.String(), sections
}

// section is one "-- name --" part of a txtar file.
type section struct {
	name string
	line int
	body strings.Builder
}

// sectionName recognises a txtar section marker, "-- name --".
func sectionName(line string) (string, bool) {
	line = strings.TrimRight(line, "\r\n")
	if !strings.HasPrefix(line, "-- ") || !strings.HasSuffix(line, " --") || len(line) < 7 {
		return "", false
	}
	return strings.TrimSpace(line[3 : len(line)-3]), true
}

// parseHeader reads the "key: value" lines of the header.
func (m *Mutant) parseHeader(header string) error {
	seen := map[string]bool{}
	for i, line := range strings.Split(header, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !ok || value == "" {
			return fmt.Errorf("line %d: want \"key: value\", got %q", i+1, line)
		}
		if seen[key] {
			return fmt.Errorf("line %d: %s given twice", i+1, key)
		}
		seen[key] = true
		switch key {
		case "role":
			m.Role = Role(value)
		case "rule":
			m.Rule = value
		case "bug":
			m.Bug = value
		case "file":
			m.File = value
		case "run":
			for _, p := range strings.Split(value, ",") {
				if p = strings.TrimSpace(p); p != "" {
					m.Run = append(m.Run, p)
				}
			}
		case "server-flags":
			m.ServerFlags = strings.Fields(value)
		case "suite-flags":
			m.SuiteFlags = strings.Fields(value)
		case "cluster":
			n, err := strconv.Atoi(value)
			if err != nil || n < 2 || n > maxCluster {
				return fmt.Errorf("line %d: cluster %q: want a number of relays from 2 to %d", i+1, value, maxCluster)
			}
			m.Cluster = n
		default:
			return fmt.Errorf("line %d: unknown key %q (want role, rule, bug, file, run, server-flags, suite-flags or cluster)", i+1, key)
		}
	}
	return nil
}

// setSections takes the find and replace sections, exactly these two, in this order.
func (m *Mutant) setSections(sections []section) error {
	if len(sections) != 2 || sections[0].name != "find" || sections[1].name != "replace" {
		var names []string
		for _, s := range sections {
			names = append(names, s.name)
		}
		return fmt.Errorf("want the sections \"-- find --\" then \"-- replace --\", got %q", names)
	}
	m.Find = strings.TrimSuffix(sections[0].body.String(), "\n")
	m.Replace = strings.TrimSuffix(sections[1].body.String(), "\n")
	return nil
}

// check validates the fields of a parsed mutant; it reports every problem at once.
func (m *Mutant) check() error {
	var errs []error
	if !idRE.MatchString(m.ID) {
		errs = append(errs, fmt.Errorf("id %q: want NN-words-with-hyphens, NN of two or three digits (the file name without .txtar)", m.ID))
	}
	dirs, ok := roleDirs[m.Role]
	if !ok {
		errs = append(errs, fmt.Errorf("role %q: want server or client", m.Role))
	}
	if !wire.ValidRuleID(m.Rule) {
		errs = append(errs, fmt.Errorf("rule %q: want a rule id such as REG-3", m.Rule))
	}
	if m.Bug == "" {
		errs = append(errs, errors.New("no bug: say in one line what the mutant does wrong"))
	}
	if ok && !validFile(m.File, dirs) {
		errs = append(errs, fmt.Errorf("file %q: want a .go file (not a test) under %s", m.File, strings.Join(dirs, " or ")))
	}
	if m.Cluster > 0 && m.Role != Server {
		errs = append(errs, fmt.Errorf("cluster: %d: only a server mutant runs as a cluster of relays", m.Cluster))
	}
	if strings.TrimSpace(m.Find) == "" {
		errs = append(errs, errors.New("the find section is empty"))
	}
	if m.Find == m.Replace {
		errs = append(errs, errors.New("the replace section equals the find section"))
	}
	return errors.Join(errs...)
}

// validFile reports whether file is a clean relative path of a non-test Go file under one of dirs.
func validFile(file string, dirs []string) bool {
	if file == "" || path.Clean(file) != file || !strings.HasSuffix(file, ".go") || strings.HasSuffix(file, "_test.go") {
		return false
	}
	return slices.ContainsFunc(dirs, func(d string) bool { return strings.HasPrefix(file, d) })
}

// Select returns the mutants whose id starts with one of the patterns, or whose rule or role
// equals one of them, in order; no pattern selects every mutant. A pattern that selects nothing is an error.
func Select(all []*Mutant, patterns []string) ([]*Mutant, error) {
	if len(patterns) == 0 {
		return all, nil
	}
	var out []*Mutant
	for _, m := range all {
		if slices.ContainsFunc(patterns, m.matches) {
			out = append(out, m)
		}
	}
	for _, p := range patterns {
		if !slices.ContainsFunc(all, func(m *Mutant) bool { return m.matches(p) }) {
			return nil, fmt.Errorf("mutants: --run %s matches no mutant id, rule or role (see --list)", p)
		}
	}
	return out, nil
}

// matches reports whether pattern p selects m: a prefix of its id, its rule, or its role.
func (m *Mutant) matches(p string) bool {
	return strings.HasPrefix(m.ID, p) || m.Rule == p || string(m.Role) == p
}
