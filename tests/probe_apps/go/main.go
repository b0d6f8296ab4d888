// The probe lab's Go app (tests/probe_lab.rs): `app ADDR debug|production`, a net/http server
// whose `/cart` indexes past a slice's end. Its recovering middleware answers the panic as
// development middlewares do in debug mode (the panic and the goroutine's stack, from
// runtime/debug.Stack) and with a generic 500 otherwise. Built with `-tags pprof`, pprof.go
// imports net/http/pprof, which registers /debug/pprof/ on the default mux.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
)

func main() {
	showPanics := os.Args[2] == "debug"
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintln(w, "<h1>Shop</h1><p>Welcome.</p>")
	})
	http.HandleFunc("/cart", cart)
	log.Fatal(http.ListenAndServe(os.Args[1], recoverer(showPanics, http.DefaultServeMux)))
}

// recoverer answers a handler's panic with a 500, logging it; with showPanics the answer
// holds the panic and the stack.
func recoverer(showPanics bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			stack := debug.Stack()
			log.Printf("panic: %v\n%s", p, stack)
			w.WriteHeader(http.StatusInternalServerError)
			if showPanics {
				fmt.Fprintf(w, "panic: %v\n\n%s", p, stack)
			} else {
				fmt.Fprintln(w, "Internal Server Error")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// cart indexes past the end of a slice: a runtime error panic.
func cart(w http.ResponseWriter, r *http.Request) {
	items := []int{}
	n, _ := strconv.Atoi(r.URL.Query().Get("item"))
	fmt.Fprintln(w, items[n])
}
