package main

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

// Every server, verifier, fake upstream and client connection lwabench opens
// is closed before run returns. Two goroutines of fasthttp (Fiber's server)
// cannot be: its clock that refreshes the Date header once a second, started
// by the first server and never stopped, and the idle-worker cleaner of a
// stopped server's worker pool, which notices the stop only after its
// 10-second sleep (Fiber does not expose that duration).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
	)
}

// TestRunTiny runs lwabench with tiny settings and checks its table: a row
// per adapter, requests that succeeded, no errors, and every token verified
// upstream once per endpoint (each adapter has its own verifier).
func TestRunTiny(t *testing.T) {
	var out, stderr bytes.Buffer
	err := run(context.Background(), []string{"-d", "200ms", "-c", "4", "-tokens", "5", "-delay", "1ms"}, &out, &stderr)
	if err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, stderr.String())
	}
	t.Logf("output:\n%s", out.String())

	rows := map[string][]string{}
	var header []string
	for _, line := range strings.Split(out.String(), "\n") {
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if header == nil {
			header = cells
			continue
		}
		if strings.HasPrefix(cells[0], "---") {
			continue
		}
		if len(cells) != len(header) {
			t.Fatalf("row %q has %d cells, header has %d", line, len(cells), len(header))
		}
		rows[cells[0]] = cells
	}
	col := func(name string) int {
		for i, h := range header {
			if h == name {
				return i
			}
		}
		t.Fatalf("no column %q in header %q", name, header)
		return -1
	}
	num := func(adapter, column string) float64 {
		cell := strings.TrimSuffix(rows[adapter][col(column)], " %")
		f, err := strconv.ParseFloat(cell, 64)
		if err != nil {
			t.Fatalf("%s: column %q: %v", adapter, column, err)
		}
		return f
	}
	for _, a := range adapterNames {
		if rows[a] == nil {
			t.Errorf("no row for adapter %s", a)
			continue
		}
		for _, c := range []string{"bare req/s", "protected req/s"} {
			if num(a, c) <= 0 {
				t.Errorf("%s: %s = %v, want > 0", a, c, num(a, c))
			}
		}
		if n := num(a, "errors"); n != 0 {
			t.Errorf("%s: %v errors", a, n)
		}
		for _, c := range []string{"tokeninfo calls/token", "profile calls/token"} {
			if n := num(a, c); n < 1 || n > 1.2 {
				t.Errorf("%s: %s = %v, want ~1", a, c, n)
			}
		}
	}
	if len(rows) != len(adapterNames) {
		t.Errorf("%d rows, want %d", len(rows), len(adapterNames))
	}
}

// TestAdaptersFlag runs one adapter only.
func TestAdaptersFlag(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"-adapters", "std", "-n", "20", "-c", "2", "-tokens", "2", "-delay", "0s"}, &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "| std |") || strings.Contains(out.String(), "| gin |") {
		t.Errorf("want only a std row:\n%s", out.String())
	}
}

// TestRefusesNonLoopback: lwabench only listens on loopback.
func TestRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "[::]:0", "10.1.2.3:8080", "localhost:0", "example.com:80", ":0", "127.0.0.1"} {
		err := run(context.Background(), []string{"-addr", addr}, io.Discard, io.Discard)
		if err == nil {
			t.Errorf("-addr %s: no error", addr)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "127.1.2.3:0", "[::1]:0"} {
		if err := checkLoopback(addr); err != nil {
			t.Errorf("-addr %s: %v", addr, err)
		}
	}
}

// TestBadFlags: invalid settings are errors, not hangs.
func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-adapters", "martini"},
		{"-adapters", ""},
		{"-c", "0"},
		{"-tokens", "0"},
		{"-d", "0s"},
		{"-rounds", "0"},
		{"-delay", "-1s"},
		{"extra"},
	} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}
