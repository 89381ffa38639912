package main

// Configuration: flags, each with an environment variable that applies when
// the flag is not given (flag > environment > default).

import (
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/go-lwa/lwa/core"
)

// config is lwaauthz's configuration.
type config struct {
	addr      string // decisions and revocations
	adminAddr string // /healthz, /readyz, /metrics; "" serves them on addr

	clientIDs []string
	appIDs    []string
	endpoint  string // resolved from -region or -endpoint

	timeout      time.Duration
	cacheTTL     time.Duration
	negativeTTL  time.Duration
	localTTL     time.Duration
	staleIfError time.Duration
	breakerFails int
	breakerCool  time.Duration
	maxConc      int
	maxPending   int

	required      []string         // profile fields every decision requires
	headers       []identityHeader // what an accepted decision emits
	tokenHeader   string
	tokenCookie   string
	queryToken    bool
	rfc6750       bool
	passPreflight bool

	redis      string   // host:port or redis:// URL; "" for no shared tier
	sharedKeys [][]byte // the fleet's keys for the shared tier

	shutdownTimeout time.Duration
	shutdownDelay   time.Duration
	logLevel        slog.Level
	healthcheck     bool
}

// Environment variables that are not LWAAUTHZ_<FLAG>: core's own.
var envNames = map[string]string{
	"client-id": core.EnvClientID, // LWA_CLIENT_ID
	"endpoint":  core.EnvEndpoint, // LWA_ENDPOINT
}

// envName is the environment variable of a flag: LWA_CLIENT_ID and
// LWA_ENDPOINT for -client-id and -endpoint, LWAAUTHZ_<NAME> (upper case,
// '-' as '_') for the others.
func envName(flagName string) string {
	if n, ok := envNames[flagName]; ok {
		return n
	}
	return "LWAAUTHZ_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// regions maps -region to core's endpoints.
var regions = map[string]string{"na": core.EndpointNA, "eu": core.EndpointEU, "fe": core.EndpointFE}

// parseConfig reads the configuration from args and the environment
// (getenv). Usage and flag errors are written to out.
func parseConfig(args []string, getenv func(string) string, out io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("lwaauthz", flag.ContinueOnError)
	fs.SetOutput(out)
	var clientIDs, appIDs, region, endpoint, require, headers, keysFile, logLevel string

	fs.StringVar(&c.addr, "addr", ":9000", "listen address of the decision and revocation endpoints (reachable by the proxy only)")
	fs.StringVar(&c.adminAddr, "admin-addr", ":9001", `listen address of /healthz, /readyz and /metrics ("" serves them on -addr)`)
	fs.StringVar(&clientIDs, "client-id", "", "accepted LWA client IDs, comma-separated (required)")
	fs.StringVar(&appIDs, "app-id", "", "also accept tokens whose app_id is one of these LWA app IDs, comma-separated")
	fs.StringVar(&region, "region", "na", "Login with Amazon region: na, eu or fe")
	fs.StringVar(&endpoint, "endpoint", "", "base URL of the LWA API instead of -region's (a fake server in tests)")
	fs.DurationVar(&c.timeout, "timeout", core.DefaultTimeout, "bound on one verification's calls to Amazon")
	fs.DurationVar(&c.cacheTTL, "cache-ttl", core.DefaultCacheTTL, "longest time a verified token is trusted without asking Amazon (bounds revocation lag at Amazon)")
	fs.DurationVar(&c.negativeTTL, "negative-cache-ttl", core.DefaultNegativeCacheTTL, "how long a token Amazon rejected is answered from memory")
	fs.DurationVar(&c.localTTL, "local-cache-ttl", core.DefaultLocalCacheTTL, "with -redis: longest time the local tier trusts an entry")
	fs.DurationVar(&c.staleIfError, "stale-if-error", 0, "while Amazon fails, keep accepting verified tokens up to this long past -cache-ttl (0: off)")
	fs.IntVar(&c.breakerFails, "breaker-failures", core.DefaultBreakerFailures, "upstream failures of distinct tokens (a call under way past 1 s counts) that open the circuit breaker (0: off)")
	fs.DurationVar(&c.breakerCool, "breaker-cooldown", core.DefaultBreakerCooldown, "how long the open breaker waits before a probe")
	fs.IntVar(&c.maxConc, "max-concurrent", core.DefaultMaxConcurrent, "verifications asking Amazon at once")
	fs.IntVar(&c.maxPending, "max-pending", core.DefaultMaxPending, "verifications waiting for a slot before new ones are answered 503")
	fs.StringVar(&require, "require", "", "profile fields every decision requires, comma-separated: email, name, postal_code (401 insufficient_scope otherwise)")
	fs.StringVar(&headers, "headers", "user_id,email", "fields an accepted decision emits, comma-separated, each field or field=X-Lwa-Name; fields: user_id, email, name, postal_code, client_id")
	fs.StringVar(&c.tokenHeader, "token-header", "", "also read the bare token from this request header")
	fs.StringVar(&c.tokenCookie, "token-cookie", "", "also read the bare token from this cookie")
	fs.BoolVar(&c.queryToken, "query-token", true, "read the access_token query parameter of the original request")
	fs.BoolVar(&c.rfc6750, "rfc6750", false, "answer with RFC 6750's statuses (401 invalid_token, 403 insufficient_scope) instead of Amazon's table")
	fs.BoolVar(&c.passPreflight, "pass-preflight", false, "allow CORS preflights (OPTIONS with Access-Control-Request-Method) without a token or identity headers; default: rejected like any request without a token")
	fs.StringVar(&c.redis, "redis", "", "share verifications and revocations between replicas through this Redis (host:port, or a redis:// or rediss:// URL: one with a password is better given as LWAAUTHZ_REDIS than on the command line); needs LWA_SHARED_KEYS or -shared-keys-file")
	fs.StringVar(&keysFile, "shared-keys-file", "", "file holding the fleet's shared-tier keys (comma- or newline-separated standard base64, 32+ bytes each) instead of LWA_SHARED_KEYS")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 15*time.Second, "on SIGTERM, how long in-flight requests may take to finish")
	fs.DurationVar(&c.shutdownDelay, "shutdown-delay", 0, "on SIGTERM, how long /readyz answers 503 before the listeners close (lets load balancers notice)")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&c.healthcheck, "healthcheck", false, "ask a running lwaauthz's /healthz (on -admin-addr) and exit 0 if it answers 200 (for a container HEALTHCHECK)")

	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: lwaauthz [flags]

Verifies Login with Amazon access tokens for nginx (auth_request), Traefik
(forwardAuth) and Envoy (ext_authz). Every flag not given is read from the
environment: LWA_CLIENT_ID (-client-id), LWA_ENDPOINT (-endpoint), and
LWAAUTHZ_<FLAG> for the others (LWAAUTHZ_CACHE_TTL=10m). The shared tier's
keys come from LWA_SHARED_KEYS or -shared-keys-file only.

`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] {
			return
		}
		name := envName(f.Name)
		if v := getenv(name); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				return
			}
			set[f.Name] = true
		}
	})
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if c.healthcheck { // needs the addresses only
		return c, nil
	}

	c.clientIDs = splitList(clientIDs)
	if len(c.clientIDs) == 0 {
		return nil, fmt.Errorf("no client ID: give -client-id or set %s", core.EnvClientID)
	}
	c.appIDs = splitList(appIDs)
	switch {
	case set["region"] && set["endpoint"]:
		return nil, fmt.Errorf("give -region (%s) or -endpoint (%s), not both", envName("region"), envName("endpoint"))
	case endpoint != "":
		c.endpoint = endpoint
	default:
		ep, ok := regions[strings.ToLower(region)]
		if !ok {
			return nil, fmt.Errorf("-region %q: want na, eu or fe", region)
		}
		c.endpoint = ep
	}
	var err error
	if c.required, err = parseFields(require); err != nil {
		return nil, fmt.Errorf("-require: %w", err)
	}
	if c.headers, err = parseHeaders(headers); err != nil {
		return nil, err
	}
	if len(c.headers) == 0 {
		return nil, errors.New("-headers: no field: an accepted request would carry no identity")
	}
	if err := c.logLevel.UnmarshalText([]byte(logLevel)); err != nil {
		return nil, fmt.Errorf("-log-level: %w", err)
	}
	if c.sharedKeys, err = readSharedKeys(keysFile, getenv(core.EnvSharedKeys)); err != nil {
		return nil, err
	}
	if c.redis != "" && len(c.sharedKeys) == 0 {
		return nil, fmt.Errorf("-redis needs the fleet's shared-tier keys (the same on every replica): set %s or -shared-keys-file (openssl rand -base64 32)", core.EnvSharedKeys)
	}
	if c.shutdownTimeout <= 0 || c.shutdownDelay < 0 {
		return nil, errors.New("-shutdown-timeout must be positive and -shutdown-delay not negative")
	}
	return c, nil
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// requirable are the profile fields a decision can require (user_id is
// always there).
var requirable = []string{core.FieldEmail, core.FieldName, core.FieldPostalCode}

// parseFields parses a comma-separated list of requirable profile fields.
func parseFields(s string) ([]string, error) {
	fields := splitList(s)
	for _, f := range fields {
		if !slices.Contains(requirable, f) {
			return nil, fmt.Errorf("unknown profile field %q (want email, name or postal_code)", f)
		}
	}
	return fields, nil
}

// readSharedKeys reads the fleet's keys from file (when given) or from env
// (LWA_SHARED_KEYS): standard base64, separated by commas or white space,
// each at least core.MinSharedKeyLen bytes. Giving both is an error.
func readSharedKeys(file, env string) ([][]byte, error) {
	src, text := core.EnvSharedKeys, env
	if file != "" {
		if env != "" {
			return nil, fmt.Errorf("give %s or -shared-keys-file, not both", core.EnvSharedKeys)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("-shared-keys-file: %w", err)
		}
		src, text = "-shared-keys-file", string(b)
	}
	var keys [][]byte
	for i, s := range strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }) {
		k, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("%s: key %d is not standard base64", src, i+1) // never the key itself
		}
		if len(k) < core.MinSharedKeyLen {
			return nil, fmt.Errorf("%s: key %d has %d bytes, want at least %d (openssl rand -base64 32)", src, i+1, len(k), core.MinSharedKeyLen)
		}
		keys = append(keys, k)
	}
	return keys, nil
}
