// Package early calls slack.Stretch as soon as the program starts: in
// its package initialisation, which runs on the main thread, after the
// few packages syscall needs and before the rest, while sysmon still
// wakes every 20 microseconds. brig-runtime imports it for that side
// effect; a program that forks from any thread (see package slack)
// should not.
package early

import "github.com/brigrt/brig/internal/slack"

func init() { slack.Stretch() }
