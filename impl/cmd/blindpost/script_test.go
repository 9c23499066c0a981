package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/blindpost/blindpost/impl/e2ee/keyfile"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/script from the actual output")

// TestScripts runs the CLI scripts of testdata/script, in the spirit of testscript: each file
// is a script followed by txtar-style files (-- name --). Every command runs in process in a
// fresh directory $WORK with BLINDPOST_CONFIG_DIR=$WORK/config.
//
// Commands:
//
//	[!] blindpost ARGS...   run the client; ! expects a failure
//	exit N                  the last exit status was N
//	[!] stdout|stderr RE    the last output matches (or not) the regular expression
//	cmp stdout|stderr FILE  the last output, normalised, equals FILE (go test -update rewrites it)
//	stdin FILE              the next blindpost reads FILE as standard input
//	type PASS...            the next blindpost reads these passphrases, and the answers to its
//	                        yes/no questions, from a "terminal"; ^C is Ctrl-C at that prompt
//	rm FILE                 remove FILE
//	perm MODE FILE          FILE has permission bits MODE
//	chmod MODE FILE         change FILE's permission bits
//	flip FILE               flip one bit near the end of FILE (tampering)
//	[!] exists FILE         FILE exists (or not)
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/script/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts in testdata/script: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			runScript(t, file)
		})
	}
}

type scriptState struct {
	t              *testing.T
	file           string
	work           string
	archive        map[string]string
	stdout, stderr string
	exit           int
	stdin          []byte
	secrets        []string
	goldens        map[string]string // golden name → actual, for -update
}

func runScript(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	script, archive := splitArchive(string(data))
	work := t.TempDir()
	for name, content := range archive {
		path := filepath.Join(work, name)
		os.MkdirAll(filepath.Dir(path), 0o700)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(work)
	t.Setenv("BLINDPOST_CONFIG_DIR", filepath.Join(work, "config"))
	t.Setenv("BLINDPOST_USER", "")
	t.Setenv("BLINDPOST_SERVER", "")
	st := &scriptState{t: t, file: file, work: work, archive: archive, goldens: map[string]string{}}
	sc := bufio.NewScanner(strings.NewReader(script))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := st.step(line); err != nil {
			t.Fatalf("%s:%d: %s: %v\nstdout:\n%s\nstderr:\n%s", file, n, line, err, st.stdout, st.stderr)
		}
	}
	if *update && len(st.goldens) > 0 {
		st.rewrite(string(data))
	}
}

// splitArchive separates the script from its -- name -- files.
func splitArchive(s string) (string, map[string]string) {
	files := map[string]string{}
	re := regexp.MustCompile(`(?m)^-- (.+) --$\n?`)
	locs := re.FindAllStringSubmatchIndex(s, -1)
	if len(locs) == 0 {
		return s, files
	}
	for i, loc := range locs {
		end := len(s)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		files[s[loc[2]:loc[3]]] = s[loc[1]:end]
	}
	return s[:locs[0][0]], files
}

func (st *scriptState) step(line string) error {
	neg := strings.HasPrefix(line, "! ")
	line = strings.TrimPrefix(line, "! ")
	args := fields(strings.ReplaceAll(line, "$WORK", st.work))
	switch args[0] {
	case "blindpost":
		st.run(args[1:])
		if neg != (st.exit != 0) {
			return fmt.Errorf("exit status %d", st.exit)
		}
	case "exit":
		want, _ := strconv.Atoi(args[1])
		if st.exit != want {
			return fmt.Errorf("exit status %d, want %d", st.exit, want)
		}
	case "stdout", "stderr":
		out := st.stdout
		if args[0] == "stderr" {
			out = st.stderr
		}
		matched := regexp.MustCompile(args[1]).MatchString(out)
		if matched == neg {
			return fmt.Errorf("%s match of %q is %v", args[0], args[1], matched)
		}
	case "cmp":
		return st.cmp(args[1], args[2])
	case "stdin":
		st.stdin = []byte(st.archive[args[1]])
	case "type":
		st.secrets = append(st.secrets, args[1:]...)
	case "perm":
		info, err := os.Stat(st.path(args[2]))
		if err != nil {
			return err
		}
		if got := fmt.Sprintf("%04o", info.Mode().Perm()); got != args[1] {
			return fmt.Errorf("mode %s, want %s", got, args[1])
		}
	case "chmod":
		mode, _ := strconv.ParseUint(args[1], 8, 32)
		return os.Chmod(st.path(args[2]), os.FileMode(mode))
	case "flip":
		p := st.path(args[1])
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		data[len(data)-3] ^= 0x01
		return os.WriteFile(p, data, 0o600)
	case "rm":
		return os.Remove(st.path(args[1]))
	case "exists":
		_, err := os.Stat(st.path(args[1]))
		if (err == nil) == neg {
			return fmt.Errorf("exists = %v", err == nil)
		}
	default:
		return fmt.Errorf("unknown command %q", args[0])
	}
	return nil
}

func (st *scriptState) path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(st.work, p)
}

// run executes blindpost in process with the script's stdin and typed passphrases.
func (st *scriptState) run(args []string) {
	var stdout, stderr bytes.Buffer
	a := newApp(bytes.NewReader(st.stdin), &stdout, &stderr)
	a.keyfileOpts = &keyfile.Options{WorkFactor: 10}
	secrets := st.secrets
	if len(secrets) > 0 {
		a.readSecret = func(prompt string) (string, error) {
			fmt.Fprint(&stderr, prompt+"\n")
			if len(secrets) == 0 {
				return "", errors.New("no more typed input")
			}
			s := secrets[0]
			secrets = secrets[1:]
			if s == "^C" {
				return "", errAborted
			}
			return s, nil
		}
		a.confirm = func(question string) (bool, error) {
			answer, err := a.readSecret(question + " [yes/no]: ")
			return answer == "yes", err
		}
	}
	st.exit = a.runContext(context.Background(), args)
	st.stdout, st.stderr = stdout.String(), stderr.String()
	st.stdin, st.secrets = nil, nil
}

var (
	fingerprintRE = regexp.MustCompile(`sha256:[0-9a-f]{64}`)
)

// normalise replaces what changes between runs: the work directory and fingerprints.
func (st *scriptState) normalise(s string) string {
	s = strings.ReplaceAll(s, st.work, "$WORK")
	return fingerprintRE.ReplaceAllString(s, "sha256:FINGERPRINT")
}

func (st *scriptState) cmp(stream, name string) error {
	got := st.stdout
	if stream == "stderr" {
		got = st.stderr
	}
	got = st.normalise(got)
	if *update {
		st.goldens[name] = got
		return nil
	}
	want, ok := st.archive[name]
	if !ok {
		return fmt.Errorf("no file %s in the script", name)
	}
	if got != want {
		return fmt.Errorf("%s differs from %s:\n--- got\n%s--- want\n%s", stream, name, got, want)
	}
	return nil
}

// rewrite replaces the golden files of the script with the actual output.
func (st *scriptState) rewrite(data string) {
	script, archive := splitArchive(data)
	for name, got := range st.goldens {
		archive[name] = got
	}
	var b strings.Builder
	b.WriteString(script)
	names := make([]string, 0, len(archive))
	for name := range archive {
		names = append(names, name)
	}
	sortStrings(names)
	for _, name := range names {
		fmt.Fprintf(&b, "-- %s --\n%s", name, archive[name])
	}
	if err := os.WriteFile(st.file, []byte(b.String()), 0o644); err != nil {
		st.t.Fatal(err)
	}
}

func sortStrings(s []string) {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
}

// fields splits a line at spaces, keeping 'single quoted' arguments whole.
func fields(line string) []string {
	var out []string
	for line != "" {
		line = strings.TrimLeft(line, " ")
		if strings.HasPrefix(line, "'") {
			end := strings.Index(line[1:], "'")
			if end < 0 {
				out = append(out, line[1:])
				break
			}
			out = append(out, line[1:end+1])
			line = line[end+2:]
			continue
		}
		end := strings.IndexByte(line, ' ')
		if end < 0 {
			out = append(out, line)
			break
		}
		out = append(out, line[:end])
		line = line[end:]
	}
	return out
}
