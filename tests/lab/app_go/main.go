// The Go lab's app (tests/lab/go.rs): a net/http server on the address in its first argument,
// one path per fault, each failing the way real Go services do, so the standard library logs
// (to stderr) what it really logs for it.
package main

import (
	"bytes"
	"database/sql"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	_ "github.com/lib/pq"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok", r.URL.Path)
	})
	http.HandleFunc("/cart", cart)
	http.HandleFunc("/refresh", refresh)
	http.HandleFunc("/report", report)
	http.HandleFunc("/orders", orders)
	http.HandleFunc("/export", export)
	log.Printf("listening on %s", os.Args[1])
	log.Fatal(http.ListenAndServe(os.Args[1], nil))
}

// cart indexes past the end of a slice: a runtime error panic, which net/http recovers from,
// logging it and dropping the connection.
func cart(w http.ResponseWriter, r *http.Request) {
	items := []int{}
	n, _ := strconv.Atoi(r.URL.Query().Get("item"))
	fmt.Fprintln(w, items[n]) // lab: cart
}

// refresh panics on a goroutine of its own, outside the handler's recover: the whole process
// dies with the panic and a goroutine dump, and the request in flight with it.
func refresh(w http.ResponseWriter, r *http.Request) {
	done := make(chan struct{})
	go reload(done)
	<-done
}

func reload(done chan struct{}) {
	panic("cache reload failed: no upstream") // lab: refresh
}

// kept holds everything report builds.
var kept [][]byte

// report keeps what it builds: under the lab's address-space limit (ulimit -v) the runtime
// cannot map more and dies with `fatal error: out of memory` and a goroutine dump.
func report(w http.ResponseWriter, r *http.Request) {
	for {
		kept = append(kept, make([]byte, 64<<20)) // lab: report
	}
}

// orders counts the orders in the database the deploy named (DATABASE_URL, through
// database/sql and lib/pq): an error is logged, as handlers do, and answered 500.
func orders(w http.ResponseWriter, r *http.Request) {
	var n int
	db, err := sql.Open("postgres", os.Getenv("DATABASE_URL"))
	if err == nil {
		defer db.Close()
		err = db.QueryRow("SELECT count(*) FROM pg_tables").Scan(&n)
	}
	if err != nil {
		log.Printf("orders: %v", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(w, n)
}

// export writes the orders as CSV where the deploy said (EXPORT_DIR): when the disk is full
// the write fails with ENOSPC, which the handler logs, as handlers do, and answers 500.
func export(w http.ResponseWriter, r *http.Request) {
	csv := bytes.Repeat([]byte("order,1\n"), 1<<17)
	err := os.WriteFile(filepath.Join(os.Getenv("EXPORT_DIR"), "orders.csv"), csv, 0o644)
	if err != nil {
		log.Printf("export: %v", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(w, "exported")
}
