// Package nginxtest starts real nginx processes for tests: Debian's nginx
// (with the auth_request module) on a free loopback port, its
// configuration, logs, pid and temporary files in the test's temporary
// directory, stopped when the test ends.
//
// It never skips: a machine without nginx fails the test with an
// explanation, because a proxy test that silently does not run is worse
// than one that fails. CI must install nginx (.ci/run does).
package nginxtest
