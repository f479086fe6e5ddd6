package landlock

import (
	"errors"
	"fmt"
	"strings"
)

// Applied is what the kernel actually enforces after Apply: rules it could
// not apply are left out and explained in Warnings.
type Applied struct {
	// ABI is the kernel's Landlock ABI version (0: none).
	ABI int
	// Rules lists what is enforced; Net or FS is nil when that area is
	// not restricted.
	Rules Rules
	// NoNewPrivs is set when Apply had to set no_new_privs itself
	// (Landlock requires it without CAP_SYS_ADMIN).
	NoNewPrivs bool
	// Warnings explain every rule, or part of one, that was not applied.
	Warnings []string
}

// ErrUnsupported wraps the error when the kernel cannot apply Landlock at
// all. Callers decide whether running unconfined is acceptable.
var ErrUnsupported = errors.New("landlock unsupported")

func (a *Applied) warn(format string, args ...any) {
	a.Warnings = append(a.Warnings, fmt.Sprintf(format, args...))
}

// String summarizes the result for logs.
func (a Applied) String() string {
	s := fmt.Sprintf("landlock ABI %d: %s", a.ABI, a.Rules.String())
	if len(a.Warnings) > 0 {
		s += " (warnings: " + strings.Join(a.Warnings, "; ") + ")"
	}
	return s
}
