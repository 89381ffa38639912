package fastreq

import (
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/go-lwa/lwa/core"
)

// BenchmarkRead reads the token sources of a request with a Bearer token
// and two other headers; "cookies" adds a browser's cookies.
func BenchmarkRead(b *testing.B) {
	b.Run("headers", func(b *testing.B) { benchRead(b, "") })
	b.Run("cookies", func(b *testing.B) { benchRead(b, "session=abc; theme=dark; consent=yes") })
}

func benchRead(b *testing.B, cookie string) {
	v, err := core.NewVerifier(core.WithClientID("x"))
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	ctx := new(fasthttp.RequestCtx)
	ctx.Request.Header.SetMethod(fasthttp.MethodGet)
	ctx.Request.SetRequestURI("/p")
	ctx.Request.Header.Set("Authorization", "Bearer Atza|abcdefghijklmnopqrstuvwxyz0123456789")
	ctx.Request.Header.Set("Accept", "application/json")
	ctx.Request.Header.Set("User-Agent", "bench")
	if cookie != "" {
		ctx.Request.Header.Set("Cookie", cookie)
	}
	b.ReportAllocs()
	for b.Loop() {
		var buf Buffer
		r := NewReader(v).Read(ctx, &buf)
		if len(r.Authorization) != 1 {
			b.Fatal("no token")
		}
	}
}
