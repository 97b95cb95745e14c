package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"imagestack/common/config"
	"imagestack/common/db"
	"imagestack/policy/keystone"
	keystonedb "imagestack/policy/keystone/db"
)

const manageUsage = `usage: imagestack [-config file] manage bootstrap [-reset-passwords]

bootstrap  re-create whatever is missing of the default domain, roles, the
           admin and demo accounts and their grants (keystone-manage
           bootstrap), re-enable those users and end their lockouts; with
           -reset-passwords also set their passwords back to the ones in
           $STATE_DIR/bootstrap-passwords.json (and clouds.yaml). It runs
           against the configured database, with or without a running server.

       imagestack [-config file] manage load-metadefs [-overwrite] [DIR]

load-metadefs  load Glance's standard metadata definition files (*.json in
           DIR, default image.metadefs_dir) as glance-manage db_load_metadefs:
           namespaces that exist are kept, or replaced with -overwrite.`

// manage runs an operator command (`imagestack manage ...`) and exits.
func manage(configPath string, args []string) error {
	if len(args) > 0 && args[0] == "load-metadefs" {
		return manageLoadMetadefs(configPath, args[1:])
	}
	if len(args) == 0 || args[0] != "bootstrap" {
		return fmt.Errorf("%s", manageUsage)
	}
	fs := flag.NewFlagSet("manage bootstrap", flag.ContinueOnError)
	reset := fs.Bool("reset-passwords", false, "restore the bootstrap passwords of admin and demo")
	fs.Usage = func() { fmt.Fprintln(fs.Output(), manageUsage) }
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("manage bootstrap: unexpected arguments %q\n%s", fs.Args(), manageUsage)
	}
	cfg, err := config.Load(configPath)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	gdb, err := db.Open(ctx, cfg.Database.DSN)
	if err != nil {
		return err
	}
	store, err := keystonedb.New(gdb)
	if err != nil {
		return err
	}
	passwords, err := bootstrapPasswords(cfg)
	if err != nil {
		return err
	}
	identity := keystone.New(store, nil, keystone.Config{}, nil)
	changes, err := identity.Bootstrap(ctx, keystone.DefaultAccounts, passwords, keystone.BootstrapOptions{ResetPasswords: *reset})
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	for _, c := range changes {
		fmt.Println(c)
	}
	if len(changes) == 0 {
		fmt.Println("nothing to do: the default accounts are complete")
	}
	return writeClouds(cfg, passwords)
}

// bootstrapPasswords are the default accounts' passwords, random on first
// use and kept in the state directory for clouds.yaml.
func bootstrapPasswords(cfg config.Config) (map[string]string, error) {
	names := make([]string, len(keystone.DefaultAccounts))
	for i, a := range keystone.DefaultAccounts {
		names[i] = a.Name
	}
	passwords, err := loadOrCreatePasswords(filepath.Join(cfg.StateDir, "bootstrap-passwords.json"), names)
	if err != nil {
		return nil, fmt.Errorf("bootstrap passwords: %w", err)
	}
	return passwords, nil
}

// writeClouds writes $STATE_DIR/clouds.yaml and prints its path (the README's
// contract: tests and users look for that line).
func writeClouds(cfg config.Config, passwords map[string]string) error {
	clouds := filepath.Join(cfg.StateDir, "clouds.yaml")
	if err := writeCloudsYAML(clouds, cfg.Identity.PublicURL+"/v3", cfg.Identity.Region, keystone.DefaultAccounts, passwords); err != nil {
		return fmt.Errorf("write clouds.yaml: %w", err)
	}
	abs, _ := filepath.Abs(clouds)
	fmt.Printf("clouds.yaml written to %s\n  try: OS_CLIENT_CONFIG_FILE=%s OS_CLOUD=demo openstack image list\n", abs, abs)
	return nil
}
