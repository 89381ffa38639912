//go:build !unix

package redistest

import (
	"errors"
	"os"
)

func sendStopCont(*os.Process, bool) error {
	return errors.New("Freeze and Thaw need a Unix system (SIGSTOP, SIGCONT)")
}
