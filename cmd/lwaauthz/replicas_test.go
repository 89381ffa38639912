package main

// Several lwaauthz replicas on one real redis-server, behind one nginx.

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-lwa/lwa/core"
	"github.com/go-lwa/lwa/internal/redistest"
	"github.com/go-lwa/lwa/lwatest"
)

// TestNginxReplicas: three replicas sharing one Redis (and one fleet key)
// behind nginx's round robin verify a token once for the fleet, answer the
// others from the shared tier, and honour a sign-out made on any of them.
func TestNginxReplicas(t *testing.T) {
	rds := redistest.Start(t)
	srv := lwatest.Start(t)
	env := map[string]string{core.EnvSharedKeys: key(9)} // the same key on every replica
	var replicas []*authz
	var addrs []string
	for range 3 {
		az := startAuthz(t, srv, env, "-redis", rds.Addr())
		replicas = append(replicas, az)
		addrs = append(addrs, hostPort(az.base))
	}
	e := startEdge(t, startApp(t), addrs, nil)
	authenticated := func(az *authz) float64 { return az.metric(t, `lwa_requests_total{lwa_outcome="authenticated"`) }
	sharedHits := func(az *authz) float64 {
		return az.metric(t, `lwa_cache_lookups_total{lwa_cache_result="hit",lwa_cache_tier="shared"`)
	}

	t.Run("one verification for the fleet", func(t *testing.T) {
		tok := srv.Issue(lwatest.ClientID, ada)
		for range 6 {
			r := e.do(t, http.MethodGet, "/api/orders", bearer(tok))
			require.Equal(t, http.StatusOK, r.status, "%s", r.body)
			assert.Equal(t, ada.UserID, e.app.last(t).Header.Get("X-Lwa-User-Id"))
		}
		assert.Equal(t, 1, srv.CallCount(lwatest.EndpointTokenInfo), "one replica asked Amazon")
		var total, hits float64
		for i, az := range replicas {
			n := authenticated(az)
			assert.Positive(t, n, "replica %d answered (nginx round robin)", i)
			total += n
			hits += sharedHits(az)
		}
		assert.Equal(t, 6.0, total)
		assert.GreaterOrEqual(t, hits, 2.0, "the replicas that did not verify read the shared tier")
	})

	t.Run("concurrent first uses", func(t *testing.T) {
		srv.SetDelay(lwatest.EndpointTokenInfo, 150*time.Millisecond) // every first use overlaps the verification
		defer srv.SetDelay(lwatest.EndpointTokenInfo, 0)
		tok := srv.Issue(lwatest.ClientID, core.Profile{UserID: "amzn1.account.CROWD"})
		calls := srv.CallCount(lwatest.EndpointTokenInfo)
		var wg sync.WaitGroup
		statuses := make([]int, 12)
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := e.client.Do(newDecisionRequest(http.MethodGet, e.ngx.URL()+"/api/orders", bearer(tok)))
				if err == nil {
					statuses[i] = resp.StatusCode
					resp.Body.Close()
				}
			}()
		}
		wg.Wait()
		for i, s := range statuses {
			assert.Equal(t, http.StatusOK, s, "request %d", i)
		}
		assert.Equal(t, calls+1, srv.CallCount(lwatest.EndpointTokenInfo), "one verification across replicas")
	})

	t.Run("sign-out on one replica, honoured by all", func(t *testing.T) {
		tok := srv.Issue(lwatest.ClientID, ada)
		for range 3 {
			require.Equal(t, http.StatusOK, e.do(t, http.MethodGet, "/api/orders", bearer(tok)).status)
		}
		for _, az := range replicas { // every replica holds the token in its local tier
			require.Equal(t, http.StatusOK, az.do(t, http.MethodGet, pathForward, bearer(tok)).status)
		}
		calls := srv.CallCount(lwatest.EndpointTokenInfo)
		require.Equal(t, http.StatusNoContent, e.do(t, http.MethodPost, "/logout", bearer(tok)).status)
		for i, az := range replicas {
			waitFor(t, fmt.Sprintf("replica %d rejects the revoked token", i), func() bool {
				return az.do(t, http.MethodGet, pathForward, bearer(tok)).status == http.StatusBadRequest
			})
		}
		before := e.app.count()
		for range 6 {
			checkRejection(t, e.do(t, http.MethodGet, "/api/orders", bearer(tok)), expectation{status: 400, code: core.CodeInvalidToken}, srv)
		}
		assert.Equal(t, before, e.app.count(), "the app was not reached")
		assert.Equal(t, calls, srv.CallCount(lwatest.EndpointTokenInfo), "no replica asked Amazon: the revocation travels through Redis")
	})

	t.Run("readiness reports Redis", func(t *testing.T) {
		r := send(t, replicas[0].client, http.MethodGet, replicas[0].admin+"/readyz", nil)
		assert.Equal(t, http.StatusOK, r.status)
		assert.JSONEq(t, `{"status":"ready","redis":"ok"}`, string(r.body))
		rds.Stop()
		r = send(t, replicas[0].client, http.MethodGet, replicas[0].admin+"/readyz", nil)
		assert.Equal(t, http.StatusOK, r.status, "Redis trouble does not take the replica out")
		assert.JSONEq(t, `{"status":"ready","redis":"unreachable"}`, string(r.body))
	})
}
