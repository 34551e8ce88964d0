// Command knooppunt is the iWmo/iJw message switch: it validates, routes and
// stores the messages of iWmo 3.2 and iJw 3.2.
//
// Each subcommand lives in a file of its own (validate.go, serve.go, …) and
// returns the process exit status: 0 success, 1 a negative verdict or
// failure, 2 a usage or I/O error.
package main

import (
	"errors"
	"flag"
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
	if isHelp(args[0]) {
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

// parseFlags parses args into fs for a command. -h or --help prints the
// command's usage to stdout and ends the command with status 0; a bad
// flag prints the error and the usage to stderr and ends it with status
// 2. done reports whether the command ends here, with code.
func parseFlags(fs *flag.FlagSet, args []string, usage func(io.Writer), stdout, stderr io.Writer) (code int, done bool) {
	fs.SetOutput(stderr) // the flag package writes a bad flag's error here
	fs.Usage = func() {} // and the usage follows below, on the right stream
	err := fs.Parse(args)
	switch {
	case err == nil:
		return 0, false
	case errors.Is(err, flag.ErrHelp):
		usage(stdout)
		return 0, true
	default:
		usage(stderr)
		return 2, true
	}
}

// usageWithFlags prints text and then the flags of fs with their
// defaults.
func usageWithFlags(fs *flag.FlagSet, text string) func(io.Writer) {
	return func(w io.Writer) {
		fmt.Fprint(w, text)
		out := fs.Output()
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(out)
	}
}

// isTerminal reports whether w is a terminal (a character device; also
// /dev/null, where colour does no harm), for colouring console logs
// only there. NO_COLOR in the environment (no-color.org) says never.
func isTerminal(w io.Writer) bool {
	if _, set := os.LookupEnv("NO_COLOR"); set {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// isHelp reports whether arg asks for help where a subcommand is expected.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}
