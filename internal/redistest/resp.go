package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// conn is a minimal RESP2 connection, enough to probe, configure and monitor
// a server without going through go-redis (whose pools and retries would
// hide what the server itself is doing).
type conn struct {
	nc net.Conn
	rd *bufio.Reader
}

func dial(addr string, timeout time.Duration) (*conn, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	return &conn{nc: nc, rd: bufio.NewReader(nc)}, nil
}

func (c *conn) close() error { return c.nc.Close() }

// send writes one command as a RESP array of bulk strings.
func (c *conn) send(args ...string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	_, err := c.nc.Write([]byte(b.String()))
	return err
}

// line reads one CRLF-terminated line, without the CRLF.
func (c *conn) line() (string, error) {
	s, err := c.rd.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(s, "\r\n"), nil
}

// reply reads one reply: a string for simple strings, bulk strings and
// integers, nil for a null, []any for arrays, and an error for an error reply.
func (c *conn) reply() (any, error) {
	l, err := c.line()
	if err != nil {
		return nil, err
	}
	if l == "" {
		return nil, errors.New("redistest: empty reply line")
	}
	switch l[0] {
	case '+', ':':
		return l[1:], nil
	case '-':
		return nil, fmt.Errorf("redis: %s", l[1:])
	case '$':
		n, err := strconv.Atoi(l[1:])
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(c.rd, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(l[1:])
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return nil, nil
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = c.reply(); err != nil {
				return nil, err
			}
		}
		return out, nil
	default:
		return nil, fmt.Errorf("redistest: unexpected reply %q", l)
	}
}

// do sends one command and reads its reply, all within timeout.
func (c *conn) do(timeout time.Duration, args ...string) (any, error) {
	if err := c.nc.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	defer c.nc.SetDeadline(time.Time{})
	if err := c.send(args...); err != nil {
		return nil, err
	}
	return c.reply()
}

// doOnce dials addr, runs one command and hangs up.
func doOnce(addr string, timeout time.Duration, args ...string) (any, error) {
	c, err := dial(addr, timeout)
	if err != nil {
		return nil, err
	}
	defer c.close()
	return c.do(timeout, args...)
}
