// Package db opens the metadata database named by a DSN and applies versioned
// migrations. Every component (identity, images, compute) keeps its tables in the
// same database, each with its own migration sequence.
//
// DSN forms:
//
//	sqlite:///abs/path/file.db   or  sqlite:relative/path.db   (embedded, pure Go)
//	mysql://user:pass@tcp(host:3306)/dbname?param=value         (MySQL / MariaDB)
package db

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	gomysql "github.com/go-sql-driver/mysql"
	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Engine names the SQL dialect behind a DSN.
type Engine string

const (
	SQLite Engine = "sqlite"
	MySQL  Engine = "mysql"
)

// ParseDSN splits a DSN into its engine and the driver-specific remainder.
func ParseDSN(dsn string) (Engine, string, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite://"):
		return SQLite, strings.TrimPrefix(dsn, "sqlite://"), nil
	case strings.HasPrefix(dsn, "sqlite:"):
		return SQLite, strings.TrimPrefix(dsn, "sqlite:"), nil
	case strings.HasPrefix(dsn, "mysql://"):
		return MySQL, strings.TrimPrefix(dsn, "mysql://"), nil
	}
	return "", "", fmt.Errorf("database DSN %q: want sqlite:<path> or mysql://user:pass@tcp(host:port)/db", dsn)
}

// Open connects to the database named by dsn. For SQLite the file's directory is
// created; for MySQL the database itself is created when absent, so that a fresh
// MariaDB needs no manual step.
func Open(ctx context.Context, dsn string) (*gorm.DB, error) {
	engine, rest, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	cfg := &gorm.Config{
		Logger:         logger.Discard,
		NowFunc:        func() time.Time { return time.Now().UTC() },
		TranslateError: true,
	}
	switch engine {
	case SQLite:
		return openSQLite(rest, cfg)
	default:
		return openMySQL(ctx, rest, cfg)
	}
}

func openSQLite(path string, cfg *gorm.Config) (*gorm.DB, error) {
	file, query, _ := strings.Cut(path, "?")
	if file == "" {
		return nil, errors.New("sqlite DSN has no file path")
	}
	if file != ":memory:" {
		if err := os.MkdirAll(filepath.Dir(file), 0o750); err != nil {
			return nil, fmt.Errorf("create database directory: %w", err)
		}
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("sqlite DSN parameters: %w", err)
	}
	// WAL lets readers proceed during a write; busy_timeout makes concurrent
	// writers wait instead of failing; immediate transactions avoid the
	// read-then-upgrade deadlock that deferred transactions hit under load.
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	if q.Get("_txlock") == "" {
		q.Set("_txlock", "immediate")
	}
	gdb, err := gorm.Open(sqlite.Open(file+"?"+q.Encode()), cfg)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", file, err)
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		return nil, err
	}
	sqlDB.SetMaxOpenConns(8)
	return gdb, nil
}

func openMySQL(ctx context.Context, dsn string, cfg *gorm.Config) (*gorm.DB, error) {
	mc, err := gomysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("mysql DSN: %w", err)
	}
	mc.ParseTime = true
	mc.Loc = time.UTC
	if mc.Params == nil {
		mc.Params = map[string]string{}
	}
	if _, ok := mc.Params["charset"]; !ok {
		mc.Params["charset"] = "utf8mb4"
	}
	// Arguments go into the statement text on the client (the driver
	// escapes them for the connection's character set) unless the DSN says
	// otherwise: one round trip per statement instead of three (prepare,
	// execute, close), which is what a create or a list page waits on most.
	if !strings.Contains(dsn, "interpolateParams=") {
		mc.InterpolateParams = true
	}
	// A silent server must not hold a connection forever (see deadline.go).
	mc.Timeout = cmp.Or(mc.Timeout, dialTimeout)
	mc.ReadTimeout = cmp.Or(mc.ReadTimeout, ioTimeout)
	mc.WriteTimeout = cmp.Or(mc.WriteTimeout, ioTimeout)
	if mc.DBName != "" {
		if err := createMySQLDatabase(ctx, *mc); err != nil {
			return nil, err
		}
	}
	sqlDB, err := sql.Open("mysql", mc.FormatDSN())
	if err != nil {
		return nil, fmt.Errorf("open mysql %s: %w", mc.Addr, err)
	}
	gdb, err := gorm.Open(mysql.New(mysql.Config{Conn: boundedPool{sqlDB}}), cfg)
	if err == nil {
		err = addStatementDeadlines(gdb)
	}
	if err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("open mysql %s: %w", mc.Addr, err)
	}
	sqlDB.SetMaxOpenConns(32)
	sqlDB.SetMaxIdleConns(16)
	sqlDB.SetConnMaxLifetime(30 * time.Minute)
	return gdb, nil
}

func createMySQLDatabase(ctx context.Context, mc gomysql.Config) error {
	name := mc.DBName
	if strings.ContainsAny(name, "`\x00") {
		return fmt.Errorf("invalid database name %q", name)
	}
	mc.DBName = ""
	conn, err := sql.Open("mysql", mc.FormatDSN())
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	_, err = conn.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
	if err != nil {
		return fmt.Errorf("create mysql database %s: %w", name, err)
	}
	return nil
}

// EngineOf reports which dialect db talks to.
func EngineOf(db *gorm.DB) Engine {
	if db.Dialector.Name() == "mysql" {
		return MySQL
	}
	return SQLite
}
