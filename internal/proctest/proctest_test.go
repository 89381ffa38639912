package proctest

import (
	"net"
	"strconv"
	"sync"
	"testing"
)

func TestFreePortIsBindable(t *testing.T) {
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("port %d from FreePort cannot be bound: %v", port, err)
	}
	l.Close()
}

func TestOutputCollectsConcurrentWrites(t *testing.T) {
	var o Output
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				o.Write([]byte("ab"))
				o.WriteString("c")
				_ = o.String()
			}
		})
	}
	wg.Wait()
	if got := len(o.String()); got != 8*100*3 {
		t.Fatalf("len(Output) = %d, want %d", got, 8*100*3)
	}
}
