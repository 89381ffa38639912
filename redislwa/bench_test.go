package redislwa_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/internal/redistest"
	"github.com/go-lwa/lwa/redislwa"
)

// BenchmarkGet measures one shared-tier lookup of two keys of one token (one
// MGET) against a real redis-server on loopback, through the library's
// timeout goroutine; BenchmarkGetDirect is the same MGET straight on go-redis,
// the floor.
func BenchmarkGet(b *testing.B) {
	s := redistest.Start(b)
	rdb := s.Client(b)
	c := redislwa.New(rdb, redislwa.WithTimeout(time.Second))
	require.NoError(b, c.Set(bg, "v:{tok}", make([]byte, 300), time.Hour))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Get(bg, "v:{tok}", "r:{tok}"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetDirect(b *testing.B) {
	s := redistest.Start(b)
	rdb := s.Client(b)
	require.NoError(b, rdb.Set(bg, "lwa:v:{tok}", make([]byte, 300), time.Hour).Err())
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := rdb.MGet(bg, "lwa:v:{tok}", "lwa:r:{tok}").Err(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetParallel is BenchmarkGet from many goroutines at once.
func BenchmarkGetParallel(b *testing.B) {
	s := redistest.Start(b)
	rdb := s.Client(b)
	c := redislwa.New(rdb, redislwa.WithTimeout(time.Second))
	require.NoError(b, c.Set(bg, "v:{tok}", make([]byte, 300), time.Hour))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Get(bg, "v:{tok}", "r:{tok}"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
