package db

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"regexp"
	"sync"

	sqlite "github.com/glebarez/go-sqlite"
	gomysql "github.com/go-sql-driver/mysql"
	"gorm.io/gorm"

	commondb "imagestack/common/db"
	"imagestack/compute"
)

// SQLite has the REGEXP operator but no function behind it: `x REGEXP y`
// calls regexp(y, x), which each application supplies. This one uses Go's
// regexp, the syntax the API validates server name filters with. The
// driver gives it to every SQLite connection opened afterwards, hence init.
func init() {
	sqlite.MustRegisterDeterministicScalarFunction("regexp", 2, sqliteRegexp)
}

// patterns caches compiled patterns: the function runs once per row.
var patterns = struct {
	sync.Mutex
	byText map[string]*regexp.Regexp
}{byText: map[string]*regexp.Regexp{}}

// maxCachedPatterns bounds the cache (clients choose the patterns).
const maxCachedPatterns = 64

func compiled(pattern string) (*regexp.Regexp, error) {
	patterns.Lock()
	defer patterns.Unlock()
	if re, ok := patterns.byText[pattern]; ok {
		return re, nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	if len(patterns.byText) >= maxCachedPatterns {
		clear(patterns.byText)
	}
	patterns.byText[pattern] = re
	return re, nil
}

func sqliteRegexp(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	pattern, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("regexp: pattern of type %T", args[0])
	}
	var s string
	switch v := args[1].(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	case nil:
		return false, nil
	default:
		return nil, fmt.Errorf("regexp: subject of type %T", args[1])
	}
	re, err := compiled(pattern)
	if err != nil {
		return nil, err
	}
	return re.MatchString(s), nil
}

// whereMatches narrows q to servers whose column matches pattern (of the
// named filter) somewhere, case-sensitive on every engine: MariaDB's
// REGEXP (PCRE) follows the column's case-insensitive collation unless
// told otherwise.
func whereMatches(q *gorm.DB, col, filter, pattern string) (*gorm.DB, error) {
	if _, err := regexp.Compile(pattern); err != nil {
		return nil, compute.Errorf(compute.ErrBadRequest, "Invalid regular expression for %s filter: %s", filter, pattern)
	}
	if commondb.EngineOf(q) == commondb.MySQL {
		pattern = "(?-i)" + pattern
	}
	return q.Where(col+" REGEXP ?", pattern), nil
}

// isRegexpError reports MariaDB's refusal of a pattern Go's regexp accepts
// (PCRE's syntax differs at the edges): the client's mistake, not ours.
func isRegexpError(err error) bool {
	var me *gomysql.MySQLError
	return errors.As(err, &me) && me.Number == 1139 // ER_REGEXP_ERROR
}
