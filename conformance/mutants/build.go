package mutants

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// The commands the runs build, as package paths relative to the module root.
const (
	pkgServer  = "./impl/cmd/blindpost-server"
	pkgClient  = "./impl/cmd/blindpost"
	pkgConform = "./conformance/cmd/blindpost-conform"
)

// rolePackage is the command a mutant of each role is built into.
var rolePackage = map[Role]string{Server: pkgServer, Client: pkgClient}

// builder compiles commands of the module at root into a work directory, sharing the Go build
// cache, so that a mutant recompiles only its package and those that import it.
type builder struct {
	root  string // the module root
	work  string // the work directory of the run
	goCmd string
	nice  int           // above 0: the builds run under nice -n nice
	slots chan struct{} // one token per build running; its capacity bounds them
}

// buildFlags link without the symbol table and DWARF (-s -w): a mutant's binary runs once under
// the suite and is never debugged (a panic's stack trace still names its functions), and its link
// takes a third less CPU; and they skip the version control stamp (-buildvcs=false), which would
// run git for every build.
var buildFlags = []string{"-ldflags=-s -w", "-buildvcs=false"}

// build compiles pkg to out. With a mutant, the build sees the mutated copy of its one file
// through an overlay (go help build, -overlay); the tree itself is never written.
func (b *builder) build(ctx context.Context, m *Mutant, pkg, out string) error {
	args := append([]string{"build", "-o", out}, buildFlags...)
	what := "the reference"
	if m != nil {
		overlay, err := b.overlay(m)
		if err != nil {
			return err
		}
		args = append(args, "-overlay", overlay)
		what = "mutant " + m.ID
	}
	args = append(args, pkg)
	name := b.goCmd
	if b.nice > 0 {
		// The compiler and linker the go command starts inherit the priority.
		name, args = "nice", append([]string{"-n", strconv.Itoa(b.nice), b.goCmd}, args...)
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = b.root
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("mutants: %s does not build: %s %s: %w\n%s", what, name, strings.Join(args, " "), err, strings.TrimSpace(string(msg)))
	}
	return nil
}

// acquire waits for a build slot and returns the function that gives it back.
func (b *builder) acquire(ctx context.Context) (release func(), err error) {
	select {
	case b.slots <- struct{}{}:
		return func() { <-b.slots }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("mutants: not built: %w", ctx.Err())
	}
}

// overlay writes the mutated file and the overlay that puts it in place of the original, and
// returns the overlay's path.
func (b *builder) overlay(m *Mutant) (string, error) {
	mutated, err := m.Apply(b.root)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(b.work, m.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("mutants: %w", err)
	}
	copyPath := filepath.Join(dir, filepath.Base(m.File))
	if err := os.WriteFile(copyPath, mutated, 0o644); err != nil {
		return "", fmt.Errorf("mutants: %w", err)
	}
	orig, err := filepath.Abs(filepath.Join(b.root, filepath.FromSlash(m.File)))
	if err != nil {
		return "", fmt.Errorf("mutants: %w", err)
	}
	spec, err := json.Marshal(map[string]map[string]string{"Replace": {orig: copyPath}})
	if err != nil {
		return "", fmt.Errorf("mutants: %w", err)
	}
	overlay := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlay, spec, 0o644); err != nil {
		return "", fmt.Errorf("mutants: %w", err)
	}
	return overlay, nil
}

// ModuleRoot returns the root directory of the main module of the working directory, as the go
// command sees it.
func ModuleRoot(ctx context.Context, goCmd string) (string, error) {
	out, err := exec.CommandContext(ctx, goCmd, "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("mutants: %s env GOMOD: %w", goCmd, err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("mutants: not inside a Go module; run from the blindpost repository")
	}
	return filepath.Dir(mod), nil
}
