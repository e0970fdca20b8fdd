package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/companin/companin/adapters/pgcluster"
)

const postgresUsage = `usage:
  companin postgres start --dir DIR [--port N] [--fast] [-v]
      start a private cluster in DIR (created if needed) and print the URL
      of its maintenance database; the server keeps running after exit
  companin postgres stop --dir DIR
      stop the server running in DIR, if any`

// runPostgres implements `companin postgres`, which lets scripts/test run
// one cluster for a whole test run: every test package then shares it via
// COMPANIN_TEST_DATABASE_URL instead of each starting its own.
func runPostgres(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(postgresUsage)
	}
	fs := flag.NewFlagSet("postgres "+args[0], flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprintln(fs.Output(), postgresUsage) }
	dir := fs.String("dir", "", "data directory (required)")
	switch args[0] {
	case "start":
		port := fs.Int("port", 0, "TCP port on 127.0.0.1; 0 picks a free one")
		fast := fs.Bool("fast", false, "turn durability off: for throwaway test data only")
		verbose := fs.Bool("v", false, "show initdb and pg_ctl output on stderr")
		if err := parse(fs, args[1:], dir); err != nil {
			return err
		}
		opt := pgcluster.Options{Dir: *dir, Port: *port, Fast: *fast}
		if *verbose {
			opt.Log = os.Stderr
		}
		c, err := pgcluster.Start(ctx, opt)
		if err != nil {
			return fmt.Errorf("postgres start: %w", err)
		}
		_, err = fmt.Fprintln(stdout, c.URL("postgres"))
		return err
	case "stop":
		if err := parse(fs, args[1:], dir); err != nil {
			return err
		}
		if err := pgcluster.StopDir(ctx, *dir, nil); err != nil {
			return fmt.Errorf("postgres stop: %w", err)
		}
		return nil
	default:
		return fmt.Errorf("postgres: unknown subcommand %q\n%s", args[0], postgresUsage)
	}
}

// parse parses the flags of a postgres subcommand, all of which need --dir.
func parse(fs *flag.FlagSet, args []string, dir *string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected arguments %q", fs.Name(), fs.Args())
	}
	if *dir == "" {
		return fmt.Errorf("%s: --dir is required", fs.Name())
	}
	return nil
}
