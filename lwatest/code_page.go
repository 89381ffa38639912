package lwatest

import (
	"errors"
	"html/template"
	"net/http"

	"github.com/go-lwa/lwa/core"
)

// The code-entry page of code-based linking (the code pairs'
// verification_uri), like Amazon's amazon.com/code, for the customer of
// SetCustomer, who is signed in already:
//
//	GET  /code[?user_code=…]          the form: one field, user_code (id "user_code"), button "continue"
//	POST /code user_code=…            the consent page: the app, what it may see, buttons
//	                                  "approve" and "deny" (the same ids as /ap/oa's)
//	POST /code user_code=…&decision=  approve or deny; the result page (id "result")
//
// A code that is unknown, expired or already answered is refused on the
// page (400, id "error"); the customer may try again. The pages work
// without script and set the same security headers as /ap/oa's.

// codeEntry answers /code.
func (s *Server) codeEntry(w http.ResponseWriter, r *http.Request, rid string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	switch r.Method {
	case http.MethodGet:
		writeCodePage(w, http.StatusOK, codePageData{Customer: s.Customer(), Code: r.URL.Query().Get("user_code")})
		return
	case http.MethodPost:
	default:
		h.Set("Allow", "GET, POST")
		writeErrorPage(w, http.StatusMethodNotAllowed, "invalid_request", "The request method "+r.Method+" is not allowed.", rid)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		writeErrorPage(w, http.StatusBadRequest, "invalid_request", "The form could not be read.", rid)
		return
	}
	form := r.PostForm
	code, decision := form.Get("user_code"), form.Get("decision")
	data := codePageData{Customer: s.Customer(), Code: code}

	switch decision {
	case "":
		s.mu.Lock()
		var pair devicePair
		app := App{}
		p, err := s.findPairLocked(code)
		if err == nil {
			pair, app.ClientID = *p, p.clientID
			if a, ok := s.apps[p.clientID]; ok {
				app = *a
			}
		}
		s.mu.Unlock()
		if err != nil {
			data.Error = codeErrorText(err)
			writeCodePage(w, http.StatusBadRequest, data)
			return
		}
		data.App = app.displayName()
		data.What, data.Items = describeScopes(pair.scopes)
		data.Code = pair.userCode
		writeCodePage(w, http.StatusOK, data)
	case "approve", "deny":
		p, err := s.answerCode(code, decision == "approve")
		if err != nil {
			data.Error = codeErrorText(err)
			writeCodePage(w, http.StatusBadRequest, data)
			return
		}
		data.Done = "Your device is now linked to your Amazon account. Return to your device."
		if p.status == pairDenied {
			data.Done = "You denied access. Your device is not linked to your Amazon account."
		}
		writeCodePage(w, http.StatusOK, data)
	default:
		writeErrorPage(w, http.StatusBadRequest, "invalid_request", `The form's decision must be "approve" or "deny".`, rid)
	}
}

// codeErrorText is what the page says about a code it cannot accept.
func codeErrorText(err error) string {
	switch {
	case errors.Is(err, errExpiredCode):
		return "That code has expired. Start again on your device to get a new code."
	case errors.Is(err, errAnsweredCode):
		return "That code has already been used. Start again on your device to get a new code."
	}
	return "That code is not valid. Check the code shown on your device and try again."
}

// codePageData fills codePage: the form when App and Done are empty, the
// consent question when App is set, the result when Done is set.
type codePageData struct {
	Customer  core.Profile
	Code      string
	Error     string
	App, What string
	Items     []string
	Done      string
}

func writeCodePage(w http.ResponseWriter, status int, data codePageData) {
	pageSecurity(w.Header())
	w.WriteHeader(status)
	_ = codePage.Execute(w, data)
}

var codePage = template.Must(template.New("code").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Amazon — link a device</title>
<style>` + pageStyle + `
  input[type=text] { font: inherit; font-size: 1.4rem; letter-spacing: .2em; text-transform: uppercase; width: 100%; box-sizing: border-box; padding: .5rem .75rem; border: 1px solid #888c8c; border-radius: 6px; }
  .error { color: #b12704; }
</style>
</head>
<body>
<main>
  <p class="brand">amazon<small>lwatest — a fake Login with Amazon for tests</small></p>
  <p class="who">Signed in as <strong id="customer">{{.Customer.Name}}</strong></p>
{{- if .Done}}
  <h1 id="result">{{.Done}}</h1>
{{- else if .App}}
  <h1 id="ask">{{.App}} would like to access your {{.What}}.</h1>
  <ul>{{range .Items}}
    <li>{{.}}</li>{{end}}
  </ul>
  <p class="fine">Code <code id="code">{{.Code}}</code></p>
  <form method="post" action="/code">
    <input type="hidden" name="user_code" value="{{.Code}}">
    <div class="buttons">
      <button type="submit" name="decision" value="deny" id="deny">Deny</button>
      <button type="submit" name="decision" value="approve" id="approve" class="primary">Allow</button>
    </div>
  </form>
{{- else}}
  <h1>Enter the code shown on your device</h1>
  {{with .Error}}<p class="error" id="error">{{.}}</p>{{end}}
  <form method="post" action="/code">
    <input type="text" id="user_code" name="user_code" value="{{.Code}}" autocomplete="off" autocapitalize="characters" spellcheck="false" maxlength="32" required autofocus>
    <div class="buttons">
      <button type="submit" id="continue" class="primary">Continue</button>
    </div>
  </form>
{{- end}}
</main>
</body>
</html>
`))
