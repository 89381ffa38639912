package conformance

import (
	"io"
	"net/http"
)

// AnswerHTTP does what ans says on a net/http ResponseWriter (the writer a
// net/http, Gin or Echo error handler is given), in that framework's idiom:
// it flushes through the writer's own Flush method and through
// http.ResponseController, hijacks through http.ResponseController, and
// writes through the writer.
func AnswerHTTP(w http.ResponseWriter, ans ErrorAnswer) {
	rc := http.NewResponseController(w)
	if ans.Hijack {
		conn, buf, err := rc.Hijack()
		if err == nil {
			_, _ = buf.WriteString(RawSuccess)
			_ = buf.Flush()
			_ = conn.Close()
		}
		return
	}
	if ans.Flush {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		_ = rc.Flush()
	}
	if ans.Status == 0 {
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(ans.Status)
	_, _ = io.WriteString(w, ans.Body)
}
