package service

import "time"

// SetRetryPauses shortens the background retries of clean-up for a test.
func SetRetryPauses(first, most time.Duration) (restore func()) {
	f, m := retryFirst, retryMax
	retryFirst, retryMax = first, most
	return func() { retryFirst, retryMax = f, m }
}

// SetClock replaces the service's clock for a test.
func SetClock(s *Service, now func() time.Time) { s.now = now }
