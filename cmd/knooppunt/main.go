// Command knooppunt is the iWmo/iJw message switch: it validates, routes and
// stores the messages of iWmo 3.2 and iJw 3.2.
//
// Each subcommand lives in a file of its own (validate.go, serve.go, …) and
// returns the process exit status: 0 success, 1 a negative verdict or
// failure, 2 a usage or I/O error.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/rs/zerolog"
)

// command is one subcommand.
type command struct {
	summary string
	run     func(args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

// commands is filled by the subcommand files.
var commands = map[string]command{}

func main() {
	// Log timestamps to the nanosecond: a request takes milliseconds, and
	// zerolog's default keeps whole seconds. The setting is zerolog's own
	// process-wide one.
	zerolog.TimeFieldFormat = time.RFC3339Nano
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "knooppunt: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	return cmd.run(args[1:], stdin, stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprint(w, `knooppunt — message switch for iWmo 3.2 and iJw 3.2

Usage:
  knooppunt <command> [flags] [arguments]

Commands:
`)
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-12s %s\n", name, commands[name].summary)
	}
	fmt.Fprint(w, `
Run 'knooppunt <command> --help' for the flags of a command.
`)
}
