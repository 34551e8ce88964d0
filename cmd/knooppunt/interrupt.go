package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// onInterrupt makes an interrupt (SIGINT, SIGTERM) of a long command say
// what says — how far it came, and whether running it again is safe — on
// w and end the process with status 130. stop undoes it when the command
// ends on its own.
func onInterrupt(w io.Writer, says func() string) (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-ch:
			fmt.Fprintf(w, "\ninterrupted: %s\n", says())
			os.Exit(130)
		case <-done:
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
	}
}
