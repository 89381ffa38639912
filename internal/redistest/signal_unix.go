//go:build unix

package redistest

import (
	"os"
	"syscall"
)

func sendStopCont(p *os.Process, freeze bool) error {
	if freeze {
		return p.Signal(syscall.SIGSTOP)
	}
	return p.Signal(syscall.SIGCONT)
}
