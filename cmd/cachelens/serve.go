package main

import (
	"fmt"
	"io"
)

// serve runs the language server on stdio.
func serve(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "cachelens: the language server is not built yet")
	return 2
}

// demo runs the example program.
func demo(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "cachelens: the demo is not built yet")
	return 2
}
