package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"runtime/debug"
	"runtime/pprof"

	"github.com/cachelens/cachelens/server/lsp"
)

// serve runs the language server on stdio. The process exits with the
// code the protocol asks for: 0 after shutdown and exit, 1 on exit without
// shutdown or when the client goes away.
func serve(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	logfile := fs.String("logfile", "", "write the log to this file instead of stderr")
	quiet := fs.Bool("quiet", false, "log nothing")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the session to this file")
	// Clients such as vscode-languageclient add --stdio; stdio is the only
	// transport, so the flag is accepted and means nothing more.
	fs.Bool("stdio", true, "speak LSP on stdin and stdout (the only transport; accepted for clients that pass it)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: cachelens [serve] [-stdio] [-logfile file] [-quiet]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(stderr, "cachelens:", err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "cachelens:", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	var logger *log.Logger
	switch {
	case *quiet:
	case *logfile != "":
		f, err := os.OpenFile(*logfile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			fmt.Fprintln(stderr, "cachelens:", err)
			return 2
		}
		defer f.Close()
		logger = log.New(f, "cachelens: ", log.LstdFlags|log.Lmicroseconds)
	default:
		logger = log.New(stderr, "cachelens: ", log.LstdFlags|log.Lmicroseconds)
	}
	// The server's heap is small (tens of MB) but long-lived; collecting
	// less often keeps request latency steady.
	debug.SetGCPercent(300)
	opts := lsp.Options{Version: version}
	if logger != nil {
		opts.Logf = logger.Printf
	}
	return lsp.Serve(context.Background(), stdin, stdout, opts)
}
