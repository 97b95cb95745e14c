package db

import "time"

// SetStatementTimeout shortens StatementTimeout for a test.
func SetStatementTimeout(d time.Duration) (restore func()) {
	old := statementTimeout
	statementTimeout = d
	return func() { statementTimeout = old }
}
