#include "textflag.h"

// relayHandler is the handler sigrelay_linux.go installs. The kernel calls
// it with the C calling convention (the signal number in DI), on the
// thread's signal stack (SA_ONSTACK: every Go thread has one) and with
// every signal blocked. It writes the number as one byte to relayFd, a
// non-blocking pipe (a full pipe drops the signal rather than block), and
// touches nothing of Go's. The registers it uses are restored by
// rt_sigreturn.
TEXT ·relayHandler(SB),NOSPLIT|NOFRAME,$0
	SUBQ	$16, SP
	MOVB	DI, 0(SP)
	MOVL	·relayFd(SB), DI
	MOVQ	SP, SI
	MOVL	$1, DX
	MOVL	$1, AX // SYS_write
	SYSCALL
	ADDQ	$16, SP
	RET

// relayRestorer is the handler's SA_RESTORER: back to the interrupted code.
TEXT ·relayRestorer(SB),NOSPLIT|NOFRAME,$0
	MOVL	$15, AX // SYS_rt_sigreturn
	SYSCALL
	INT	$3 // not reached

// func handlerAddrs() (handler, restorer uintptr)
TEXT ·handlerAddrs(SB),NOSPLIT,$0-16
	LEAQ	·relayHandler(SB), AX
	MOVQ	AX, handler+0(FP)
	LEAQ	·relayRestorer(SB), AX
	MOVQ	AX, restorer+8(FP)
	RET
