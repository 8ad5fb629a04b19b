// Command dagger-session is the offline test bed's stand-in for the Dagger CLI.
//
// The official CLI cannot be compiled from the Go module proxy reachable here (its
// terminal UI modules are not served), but the Python SDK in client mode only needs
// two of its subcommands: `session`, which connects to the engine and serves the
// GraphQL API on a loopback port, and `version`. This program implements exactly
// those on top of the engine's own client package, built at the pinned version.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/dagger/dagger/engine"
	"github.com/dagger/dagger/engine/client"
	"github.com/google/uuid"
)

const runnerHostEnv = "_EXPERIMENTAL_DAGGER_RUNNER_HOST"

type connectParams struct {
	Port         int    `json:"port"`
	SessionToken string `json:"session_token"`
}

type repeated []string

func (r *repeated) String() string     { return fmt.Sprint(*r) }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: dagger-session session|version [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "version":
		fmt.Printf("dagger %s (offline test bed session CLI) %s\n", engine.Version, os.Getenv(runnerHostEnv))
	case "session":
		err = runSession(os.Args[2:])
	default:
		err = fmt.Errorf("unsupported subcommand %q: this stand-in only implements session and version", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "dagger-session:", err)
		os.Exit(1)
	}
}

func runSession(args []string) error {
	flags := flag.NewFlagSet("session", flag.ContinueOnError)
	var labels repeated
	flags.Var(&labels, "label", "session label (accepted for SDK compatibility)")
	workdir := flags.String("workdir", "", "working directory of the session")
	flags.String("project", "", "accepted for SDK compatibility")
	loadWorkspace := flags.Bool("load-workspace-modules", false, "load the workspace's modules")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *workdir != "" {
		if err := os.Chdir(*workdir); err != nil {
			return fmt.Errorf("--workdir: %w", err)
		}
	}
	runnerHost := os.Getenv(runnerHostEnv)
	if runnerHost == "" {
		return fmt.Errorf("%s is not set: run `eval \"$(tests/engine/up)\"` first", runnerHostEnv)
	}

	// A closed pipe from a departed parent must not kill the session mid-shutdown.
	signal.Ignore(syscall.SIGPIPE)

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() { <-stop; listener.Close() }()
	// The SDK ends the session by closing our stdin.
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); listener.Close() }()

	token := uuid.NewString()
	ctx := context.Background()
	sess, err := client.Connect(ctx, client.Params{
		SecretToken:          token,
		RunnerHost:           runnerHost,
		LoadWorkspaceModules: *loadWorkspace,
	})
	if err != nil {
		return fmt.Errorf("connect to engine at %s: %w", runnerHost, err)
	}
	defer sess.Close()

	line, err := json.Marshal(connectParams{Port: listener.Addr().(*net.TCPAddr).Port, SessionToken: token})
	if err != nil {
		return err
	}
	if _, err := os.Stdout.Write(append(line, '\n')); err != nil {
		return err
	}
	server := http.Server{
		Handler:           sess,
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	if err := server.Serve(listener); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}
