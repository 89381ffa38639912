// Package fastreq reads a core.Request from a fasthttp request, for the
// adapters of the frameworks built on fasthttp (Fiber v2 and v3), without
// copying and, for a request with at most one value per token source,
// without allocating.
package fastreq

import (
	"strings"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/go-lwa/lwa/core"
)

// Buffer holds one value per token source, so that the Request that Read
// returns usually points into the caller's stack frame rather than into a new
// slice. Declare it as a local variable next to the Request.
type Buffer [5]string

// Reader reads Requests for one Verifier: it knows the Verifier's custom
// header and cookie sources (core.WithTokenHeader, core.WithTokenCookie).
type Reader struct {
	headers []string
	cookies []string
}

// NewReader returns the Reader of v's token sources.
func NewReader(v *core.Verifier) *Reader {
	return &Reader{headers: v.TokenHeaders(), cookies: v.TokenCookies()}
}

// Read returns the Request of ctx: method, Access-Control-Request-Method
// (read only on OPTIONS, the only method a preflight has) and every value of
// every token source. Its strings point into fasthttp's buffers, which are
// reused once the handler returns: the Request is marked Volatile, so that
// core copies whatever outlives the handler, and must not outlive it itself.
func (r *Reader) Read(ctx *fasthttp.RequestCtx, buf *Buffer) core.Request {
	h := &ctx.Request.Header
	req := core.Request{Method: unsafeString(ctx.Method()), Volatile: true}
	preflight := req.Method == fasthttp.MethodOptions
	// One pass over the headers: PeekAll copies and normalises its key on
	// every call, which costs more than comparing the few keys a request
	// has (fasthttp stores them normalised; EqualFold keeps apps that turned
	// normalising off working).
	req.Authorization, req.AmzAccessToken = buf[0:0:1], buf[1:1:2]
	req.Header = buf[3:3:4]
	for k, val := range h.All() {
		switch {
		case len(k) == len(core.HeaderAuthorization) && strings.EqualFold(unsafeString(k), core.HeaderAuthorization):
			req.Authorization = append(req.Authorization, unsafeString(val))
		case len(k) == len(core.HeaderAmzAccessToken) && strings.EqualFold(unsafeString(k), core.HeaderAmzAccessToken):
			req.AmzAccessToken = append(req.AmzAccessToken, unsafeString(val))
		case r.custom(k):
			req.Header = append(req.Header, unsafeString(val))
		case preflight && strings.EqualFold(unsafeString(k), fasthttp.HeaderAccessControlRequestMethod):
			req.AccessControlRequestMethod = unsafeString(val)
		}
	}
	req.Authorization = nilIfEmpty(req.Authorization)
	req.AmzAccessToken = nilIfEmpty(req.AmzAccessToken)
	req.Header = nilIfEmpty(req.Header)
	// PeekMulti reuses its result slice: it is converted at once.
	req.Query = appendUnsafe(buf[2:2:3], ctx.QueryArgs().PeekMulti(core.QueryAccessToken))
	req.Cookie = buf[4:4:5]
	for _, name := range r.cookies {
		if c := h.Cookie(name); len(c) > 0 {
			req.Cookie = append(req.Cookie, unsafeString(c))
		}
	}
	req.Cookie = nilIfEmpty(req.Cookie)
	return req
}

// custom reports whether k names one of the custom header sources.
func (r *Reader) custom(k []byte) bool {
	for _, name := range r.headers {
		if len(k) == len(name) && strings.EqualFold(unsafeString(k), name) {
			return true
		}
	}
	return false
}

// nilIfEmpty returns nil for an empty slice, as net/http's header map has
// no entry for an absent header.
func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
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
