package service

import "time"

// SetSettlePauses shortens the retry pauses of settle for a test and
// returns the function that restores them.
func SetSettlePauses(first, max time.Duration) (restore func()) {
	oldFirst, oldMax := settleFirst, settleMax
	settleFirst, settleMax = first, max
	return func() { settleFirst, settleMax = oldFirst, oldMax }
}
