// Package fastreq reads a core.Request from a fasthttp request, for the
// adapters of the frameworks built on fasthttp (Fiber v2 and v3), without
// copying and, for a request with at most one value per token source,
// without allocating.
package fastreq

import (
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/go-lwa/lwa/core"
)

// Buffer holds one value per token source, so that the Request that Read
// returns usually points into the caller's stack frame rather than into a new
// slice. Declare it as a local variable next to the Request.
type Buffer [5]string

// Read returns the Request of ctx: method, Access-Control-Request-Method
// (read only on OPTIONS, the only method a preflight has) and every value of
// every token source, the custom header and cookie of v included
// (core.WithTokenHeader, core.WithTokenCookie). Its strings point into fasthttp's buffers, which are
// reused once the handler returns: the Request must not outlive the handler
// (core.Verifier.Authenticate copies the token before anything can outlive
// its call).
func Read(ctx *fasthttp.RequestCtx, v *core.Verifier, buf *Buffer) core.Request {
	h := &ctx.Request.Header
	req := core.Request{Method: unsafeString(ctx.Method())}
	// PeekAll and PeekMulti reuse their result slice: each result is
	// converted before the next call.
	req.Authorization = appendUnsafe(buf[0:0:1], h.PeekAll(core.HeaderAuthorization))
	req.AmzAccessToken = appendUnsafe(buf[1:1:2], h.PeekAll(core.HeaderAmzAccessToken))
	req.Query = appendUnsafe(buf[2:2:3], ctx.QueryArgs().PeekMulti(core.QueryAccessToken))
	if name := v.TokenHeader(); name != "" {
		req.Header = appendUnsafe(buf[3:3:4], h.PeekAll(name))
	}
	if name := v.TokenCookie(); name != "" {
		if c := h.Cookie(name); len(c) > 0 {
			buf[4] = unsafeString(c)
			req.Cookie = buf[4:5:5]
		}
	}
	if req.Method == fasthttp.MethodOptions {
		req.AccessControlRequestMethod = unsafeString(h.Peek(fasthttp.HeaderAccessControlRequestMethod))
	}
	return req
}

// appendUnsafe appends vals to dst as strings that share their memory.
// It returns nil when vals is empty, as net/http's header map does for an
// absent header.
func appendUnsafe(dst []string, vals [][]byte) []string {
	if len(vals) == 0 {
		return nil
	}
	for _, b := range vals {
		dst = append(dst, unsafeString(b))
	}
	return dst
}

// unsafeString returns b as a string without copying it.
func unsafeString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
