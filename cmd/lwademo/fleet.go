package main

// The fleet key: with -redis, every replica seals what it shares in Redis
// with the same secret key (core.WithSharedKeys), which Redis never sees.
// The demo reads it from LWA_SHARED_KEYS, as a production service would, or
// makes one up and prints the command that starts a second replica with it.

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/go-lwa/lwa/core"
)

// replicaPortStep is how far the printed second replica's port is from the
// first's: far enough that both fit with their second origins (port + 1).
const replicaPortStep = 10

// fleetKeys returns the shared tier's keys: those of LWA_SHARED_KEYS, or,
// when it is unset, one fresh random key (generated is then true).
func fleetKeys(env string) (keys [][]byte, generated bool, err error) {
	if strings.TrimSpace(env) != "" {
		keys, err := parseSharedKeys(env)
		return keys, false, err
	}
	key := make([]byte, core.MinSharedKeyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, false, err
	}
	return [][]byte{key}, true, nil
}

// parseSharedKeys reads LWA_SHARED_KEYS: comma-separated standard base64,
// each key at least core.MinSharedKeyLen bytes. Its errors name a key by
// its position, never by its value.
func parseSharedKeys(env string) ([][]byte, error) {
	var keys [][]byte
	for i, s := range strings.Split(env, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, fmt.Errorf("%s: key %d is empty", core.EnvSharedKeys, i+1)
		}
		k, err := base64.StdEncoding.Strict().DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("%s: key %d is not standard base64", core.EnvSharedKeys, i+1)
		}
		if len(k) < core.MinSharedKeyLen {
			return nil, fmt.Errorf("%s: key %d is %d bytes, at least %d are needed (openssl rand -base64 32)",
				core.EnvSharedKeys, i+1, len(k), core.MinSharedKeyLen)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// replicaCommand is the command that starts another replica beside one
// listening on apiAddr (its -addr flag: host as given, and the port it
// got): the same Redis, the port replicaPortStep further (so that neither's
// second origin, port + 1, collides with the other), and, when key is not
// nil, the fleet key in LWA_SHARED_KEYS.
func replicaCommand(redisAddr, addrFlag string, port int, webAddr string, key []byte) string {
	host, _, err := net.SplitHostPort(addrFlag)
	if err != nil {
		host = "127.0.0.1"
	}
	next := port + replicaPortStep
	if next > 65535-1 {
		next = port - replicaPortStep
	}
	var b strings.Builder
	if key != nil {
		b.WriteString(core.EnvSharedKeys + "=" + base64.StdEncoding.EncodeToString(key) + " ")
	}
	b.WriteString("go run ./cmd/lwademo -redis " + redisAddr + " -addr " + net.JoinHostPort(host, strconv.Itoa(next)))
	if webAddr == "off" {
		b.WriteString(" -web-addr off")
	}
	return b.String()
}

// printFleetKey says where the fleet key comes from, and how to start a
// second replica that shares it.
func printFleetKey(out io.Writer, generated bool, n int, cmd string) {
	if generated {
		fmt.Fprintf(out, "lwademo: fleet key: %s is unset, so this replica made up one; every replica sharing the Redis needs the same key (a secret: keep it like a password). Start a second replica with:\n", core.EnvSharedKeys)
		fmt.Fprintf(out, "  %s\n", cmd)
		return
	}
	fmt.Fprintf(out, "lwademo: fleet key: %d key(s) from %s. Start a second replica, with the same %s, with:\n", n, core.EnvSharedKeys, core.EnvSharedKeys)
	fmt.Fprintf(out, "  %s\n", cmd)
}
