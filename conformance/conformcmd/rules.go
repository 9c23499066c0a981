package conformcmd

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/blindpost/blindpost/conformance/harness"
	"github.com/blindpost/blindpost/conformance/rules"
)

func init() { Register(rulesCommand) }

func rulesCommand(app *App) *cobra.Command {
	var (
		repo            string
		asJSON, verbose bool
		requireMusts    bool
	)
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "print the traceability matrix: which tests, cases and vectors check every MUST and SHOULD",
		Long: `rules lists every rule of spec/protocol.md with the unit tests that name it (*_test.go outside
conformance/), the conformance cases that claim it and the vectors (vectors/*.json "rule" and
"rules" members) that check it, then the MUSTs no conformance case or vector checks, the rules no
black-box case or vector can observe (checked by unit tests, each with the reason), and the rules
nothing checks.

--require-musts exits with status 1 when an observable MUST has no case or vector, or when a rule
listed as not observable has no unit test or is not a rule of the spec.`,
		Example: `  blindpost-conform rules
  blindpost-conform rules --json --repo ../blindpost
  blindpost-conform rules --require-musts   # exit status 1 while an observable MUST has no case or vector`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if repo == "" {
				r, err := rules.FindRepo(".")
				if err != nil {
					return usage(err)
				}
				repo = r
			}
			m, err := rules.Build(repo, harness.Registered())
			if err != nil {
				return usage(err)
			}
			if asJSON {
				err = m.WriteJSON(app.Stdout)
			} else {
				err = m.WriteText(app.Stdout, verbose)
			}
			if err != nil {
				return &ExitError{Code: ExitUsage, Err: err}
			}
			if problems := m.Problems(); requireMusts && len(problems) > 0 {
				return &ExitError{Code: ExitFail, Err: fmt.Errorf("--require-musts: %d problems: %s", len(problems), strings.Join(problems, "; "))}
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&repo, "repo", "", "the repository to scan for tests and vectors (default: the one holding the working directory)")
	fs.BoolVar(&asJSON, "json", false, "write the matrix as JSON")
	fs.BoolVarP(&verbose, "verbose", "v", false, "list every test, case and vector of each rule")
	fs.BoolVar(&requireMusts, "require-musts", false, "exit with status 1 when an observable MUST has no conformance case or vector, or the list of rules not observable is wrong")
	return cmd
}
