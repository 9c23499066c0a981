// Command blindpost is the reference Blindpost client: it creates a user's identity, sends
// one-shot messages, speaks the driver protocol of spec Appendix A for test harnesses, and
// manages the trust stores of spec §4.1 and §6.6. The logic lives in impl/client; this command
// parses flags and calls it.
package main

import "os"

func main() {
	os.Exit(newApp(os.Stdin, os.Stdout, os.Stderr).run(os.Args[1:]))
}
