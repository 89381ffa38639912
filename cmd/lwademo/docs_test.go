package main

import (
	"bytes"
	"encoding/base64"
	"flag"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/core/observe"
)

// packageDoc returns the command's doc comment, as go doc shows it.
func packageDoc(t *testing.T) string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	require.NoError(t, err)
	require.NotNil(t, f.Doc)
	return f.Doc.Text()
}

const keyPlaceholder = "<the key it printed>"

var docCommand = regexp.MustCompile(`(?m)^\t(` + core.EnvSharedKeys + `=(<[^>]+>) )?go run \./cmd/lwademo( .*)?$`)

// TestDocumentedReplicas: the two replica commands of the package doc
// listen on four different addresses (each copy's -addr and its second
// origin, port + 1), and the second is what the first prints.
func TestDocumentedReplicas(t *testing.T) {
	var replicas [][]string
	for _, m := range docCommand.FindAllStringSubmatch(packageDoc(t), -1) {
		args := strings.Fields(m[3])
		if len(args) > 0 && args[0] == "-redis" {
			replicas = append(replicas, m)
		}
	}
	require.Len(t, replicas, 2, "two replica commands in the package doc")
	assert.Empty(t, replicas[0][1], "the first replica runs with no key set")
	assert.Equal(t, keyPlaceholder, replicas[1][2], "the second with the key the first printed")

	seen := map[string]string{}
	var first flags
	for i, m := range replicas {
		fl, err := parseFlags(strings.Fields(m[3]), io.Discard)
		require.NoError(t, err, m[0])
		web, auto, err := secondAddr(fl.addr, fl.webAddr)
		require.NoError(t, err)
		assert.True(t, auto)
		for _, a := range []string{fl.addr, web} {
			require.NotContains(t, seen, a, "replica %d listens on %s, like %s", i+1, a, seen[a])
			seen[a] = m[0]
		}
		if i == 0 {
			first = fl
		}
	}
	assert.Len(t, seen, 4)

	// What the first prints, for its default port, is the second line.
	key := bytes.Repeat([]byte{7}, 32)
	printed := replicaCommand(first.redisAddr, first.addr, 8080, first.webAddr, key)
	printed = strings.Replace(printed, base64.StdEncoding.EncodeToString(key), keyPlaceholder, 1)
	assert.Equal(t, strings.TrimPrefix(replicas[1][0], "\t"), printed)
	assert.Equal(t, "127.0.0.1:8080", first.addr, "the doc's first replica uses the default -addr")

	// The README's copy of the pair is the package doc's.
	readme := readmeWith(t, keyPlaceholder)
	var inReadme []string
	fenced := false
	for _, l := range strings.Split(readme, "\n") {
		if strings.HasPrefix(l, "```") {
			fenced = !fenced
			continue
		}
		l, _, _ = strings.Cut(l, "#") // a shell comment
		if l = strings.TrimSpace(l); fenced && strings.Contains(l, "go run ./cmd/lwademo -redis") {
			inReadme = append(inReadme, l)
		}
	}
	assert.Equal(t, []string{strings.TrimSpace(replicas[0][0]), strings.TrimSpace(replicas[1][0])}, inReadme)
}

// readmeWith returns README.md, which must hold marker.
func readmeWith(t *testing.T, marker string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	require.Contains(t, string(b), marker, "README.md")
	return string(b)
}

// TestLogVocabulary: every value the request log's how= can take is
// documented (package doc and startup lines), and nothing else is.
func TestLogVocabulary(t *testing.T) {
	codes := []string{core.CodeInvalidRequest, core.CodeInvalidToken, core.CodeInsufficientScope, core.CodeNotFound, core.CodeServerError}
	produced := map[string]bool{}
	preflight, _ := http.NewRequest(http.MethodOptions, "/me", nil)
	preflight.Header.Set("Access-Control-Request-Method", "GET")
	get, _ := http.NewRequest(http.MethodGet, "/me", nil)
	bools := []bool{false, true}
	// Every state a request's handling can be in.
	for _, r := range []*http.Request{get, preflight} {
		for _, skipped := range bools {
			for _, decided := range bools {
				for outcome := observe.Outcome(0); outcome <= observe.OutcomeFailed; outcome++ {
					for _, code := range append([]string{""}, codes...) {
						for _, local := range bools {
							for _, shared := range bools {
								for _, upstream := range bools {
									h := &handling{decided: decided, outcome: outcome, code: code, skipped: skipped,
										localHit: local, sharedHit: shared, upstream: upstream}
									how := h.how(r)
									if c, ok := strings.CutPrefix(how, "rejected "); ok {
										assert.Contains(t, append(codes, ""), c)
										how = "rejected <code>"
									}
									produced[how] = true
								}
							}
						}
					}
				}
			}
		}
	}
	documented := map[string]bool{}
	for _, h := range logHows {
		documented[h.how] = true
	}
	assert.Equal(t, documented, produced, "the vocabulary is exactly what how() prints")
	assert.Contains(t, documented, "public", "issue 17: the vocabulary omitted public")

	doc := packageDoc(t)
	var out bytes.Buffer
	printLogVocabulary(&out)
	for _, h := range logHows {
		assert.Regexp(t, `(?m)^\t`+regexp.QuoteMeta(h.how)+` +`+regexp.QuoteMeta(h.means)+`$`, doc, "the package doc explains %q", h.how)
		assert.Contains(t, out.String(), h.how)
		assert.Contains(t, out.String(), h.means)
	}
	for _, c := range codes {
		assert.Contains(t, doc, c, "the package doc names the code")
	}

	// The README's list too.
	const marker = "The request log's `how=` is one of"
	readme := readmeWith(t, marker)
	list := readme[strings.Index(readme, marker):]
	list = list[:strings.Index(list, ";")]
	for _, h := range logHows {
		assert.Contains(t, list, "`"+h.how+"`", "the README lists %q", h.how)
	}
}

// TestFlagHelp: -h says what two copies and -redis need.
func TestFlagHelp(t *testing.T) {
	var out bytes.Buffer
	_, err := parseFlags([]string{"-h"}, &out)
	require.ErrorIs(t, err, flag.ErrHelp)
	assert.Contains(t, out.String(), "a second copy needs a port at least 2 apart: -web-addr auto takes port + 1")
	assert.Contains(t, out.String(), "or any free port if that one is taken")
	assert.Contains(t, out.String(), "every replica needs the same fleet key, "+core.EnvSharedKeys)
}
