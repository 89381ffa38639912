package core

// MustVerifier builds the Verifier of an adapter's Require, panicking with
// a message that starts with pkg (as regexp.MustCompile does) when the
// configuration is invalid, so that a misconfigured server fails at startup
// rather than on its first request.
func MustVerifier(pkg string, opts ...Option) *Verifier {
	v, err := NewVerifier(opts...)
	if err != nil {
		panic(pkg + ".Require: " + err.Error())
	}
	return v
}

// AdapterConfig checks the arguments of an adapter's New and returns its
// Config (the zero Config when none is given). It panics, with a message
// that starts with pkg, when v is nil or more than one Config is given.
func AdapterConfig[C any](pkg string, v *Verifier, cfg []C) C {
	var c C
	if v == nil || len(cfg) > 1 {
		panic(pkg + ".New: want a non-nil *core.Verifier and at most one Config")
	}
	if len(cfg) == 1 {
		c = cfg[0]
	}
	return c
}
