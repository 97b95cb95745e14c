package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"imagestack/common/config"
	"imagestack/common/db"
	"imagestack/glance"
	glancedb "imagestack/glance/db"
	glanceservice "imagestack/glance/service"
)

// manageLoadMetadefs runs `imagestack manage load-metadefs [-overwrite] [DIR]`.
func manageLoadMetadefs(configPath string, args []string) error {
	fs := flag.NewFlagSet("manage load-metadefs", flag.ContinueOnError)
	overwrite := fs.Bool("overwrite", false, "replace namespaces that exist with the files' definitions")
	fs.Usage = func() { fmt.Fprintln(fs.Output(), manageUsage) }
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(configPath)
	if err != nil {
		return err
	}
	dir := cfg.Image.MetadefsDir
	switch fs.NArg() {
	case 0:
	case 1:
		dir = fs.Arg(0)
	default:
		return fmt.Errorf("manage load-metadefs: one directory at most, not %q\n%s", fs.Args(), manageUsage)
	}
	if dir == "" {
		return errors.New("manage load-metadefs: no directory given and image.metadefs_dir is not set")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	gdb, err := db.Open(ctx, cfg.Database.DSN)
	if err != nil {
		return err
	}
	repo, err := glancedb.New(gdb)
	if err != nil {
		return err
	}
	return glanceservice.LoadMetadefs(ctx, repo, dir, *overwrite, func(line string) { fmt.Println(line) })
}

// loadMetadefsOnFirstStart loads the standard metadata definitions from
// image.metadefs_dir when no namespace is stored yet, so that Horizon's
// "Update Metadata" dialogs offer them on a new cloud. Later starts leave
// the definitions alone: what an operator deleted stays deleted.
func loadMetadefsOnFirstStart(ctx context.Context, cfg config.Config, repo glance.MetadefRepository, log *slog.Logger) error {
	dir := cfg.Image.MetadefsDir
	if dir == "" {
		return nil
	}
	if _, err := os.Stat(dir); err != nil {
		log.Info("no metadata definitions to load", "image.metadefs_dir", dir, "error", err)
		return nil
	}
	has, err := glanceservice.HasMetadefNamespaces(ctx, repo)
	if err != nil || has {
		return err
	}
	n := 0
	err = glanceservice.LoadMetadefs(ctx, repo, dir, false, func(string) { n++ })
	log.Info("loaded the standard metadata definitions", "dir", dir, "namespaces", n)
	return err
}
