//go:build pprof

// Importing net/http/pprof anywhere in a program registers /debug/pprof/ on the default mux:
// the build of the lab app that leaves it in.
package main

import _ "net/http/pprof"
