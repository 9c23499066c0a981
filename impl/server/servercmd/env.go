package servercmd

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

// EnvPrefix starts the environment variable of every flag: --max-message is
// BLINDPOST_MAX_MESSAGE.
const EnvPrefix = "BLINDPOST_"

// LookupEnv is os.LookupEnv, or a map in tests.
type LookupEnv func(key string) (string, bool)

// EnvName returns the environment variable that sets flag name.
func EnvName(name string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// sources records where each flag's value came from, so that configuration errors can say.
type sources map[string]string

// of describes where flag name came from.
func (s sources) of(fs *pflag.FlagSet, name string) string {
	if src, ok := s[name]; ok {
		return src
	}
	if f := fs.Lookup(name); f != nil {
		return fmt.Sprintf("--%s=%s (default)", name, f.Value.String())
	}
	return "(built-in setting)"
}

// applyEnv sets every flag that the command line left unset from its environment variable
// (command-line flags win) and records the source of every set flag. It returns one error per
// variable that does not parse, each naming the variable.
func applyEnv(fs *pflag.FlagSet, lookup LookupEnv) (sources, error) {
	src := sources{}
	var errs []error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name == "help" {
			return
		}
		if f.Changed {
			src[f.Name] = fmt.Sprintf("--%s=%s (command line)", f.Name, f.Value.String())
			return
		}
		env := EnvName(f.Name)
		v, ok := lookup(env)
		if !ok {
			return
		}
		src[f.Name] = fmt.Sprintf("%s=%q (environment)", env, v)
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q (environment): %v", env, v, err))
		}
	})
	return src, errors.Join(errs...)
}
