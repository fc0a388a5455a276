// Package cli implements the firehose command line: one cobra command per
// file, each with an Options struct, its flags and a run function.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/firehose-tools/firehose/internal/awsconf"
	"github.com/firehose-tools/firehose/internal/logging"
	"github.com/firehose-tools/firehose/internal/ui"
)

// Stdio holds the streams a command reads and writes; tests pass buffers.
type Stdio struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// globalOptions are the flags every command accepts, plus the process
// context shared by the commands (streams, logger, signal handling).
type globalOptions struct {
	Region      string
	Profile     string
	EndpointURL string
	LogFormat   string
	LogLevel    string
	// Output is how results are printed: "text" (default) or "json".
	Output string
	// RequestTimeout bounds one HTTP attempt.
	RequestTimeout time.Duration

	stdio Stdio
	// console is stderr as the logger and the progress display share it:
	// while a progress area is live, log lines are printed above it.
	console *ui.Console
	logger  *slog.Logger
	signals *signalState
	// progressInterval is the time between progress log lines off a
	// terminal (0: ui.DefaultLogInterval); tests shorten it.
	progressInterval time.Duration
}

func (g *globalOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&g.Region, "region", "", "AWS region (default: the SDK chain, AWS_REGION, the profile)")
	fs.StringVar(&g.Profile, "profile", "", "shared config profile (default: AWS_PROFILE or \"default\")")
	fs.StringVar(&g.EndpointURL, "endpoint-url", "", "one endpoint for Firehose, CloudWatch, S3 and IAM, for emulators (default: AWS_ENDPOINT_URL or the AWS endpoints)")
	fs.StringVar(&g.LogFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&g.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVarP(&g.Output, "output", "o", outputText, "result format: text (tables on stderr, for people) or json (one document on stdout, for scripts)")
	fs.DurationVar(&g.RequestTimeout, "request-timeout", awsconf.DefaultRequestTimeout, "time limit of one HTTP attempt, response included (a stalled response is retried)")
}

// Main runs the firehose command line with args (without the program name)
// and returns the process exit code.
func Main(ctx context.Context, args []string, stdio Stdio, opts ...MainOption) int {
	g := &globalOptions{stdio: stdio, console: ui.NewConsole(stdio.Err)}
	for _, o := range opts {
		o(g)
	}
	if g.signals == nil {
		g.signals = newSignalState(nil)
	}
	ctx, stop := g.signals.context(ctx)
	defer stop()

	root := newRootCommand(g)
	root.SetArgs(args)
	root.SetIn(stdio.In)
	root.SetOut(stdio.Out)
	root.SetErr(stdio.Err)
	err := root.ExecuteContext(ctx)
	code := exitCode(err, g.signals)
	if err != nil && !errors.Is(err, errSilent) {
		if g.logger != nil && strings.EqualFold(g.LogFormat, "json") {
			// Keep stderr all JSON lines for log shippers.
			g.logger.Error(userMessage(err), "exit_code", code)
		} else {
			fmt.Fprintf(stdio.Err, "firehose: %v\n", userMessage(err))
		}
	}
	return code
}

// MainOption configures Main; tests use it to inject signals.
type MainOption func(*globalOptions)

// Signals installs the function that subscribes to interrupt signals
// (os/signal.Notify in the binary).
func Signals(notify func(chan<- os.Signal)) MainOption {
	return func(g *globalOptions) { g.signals = newSignalState(notify) }
}

func newRootCommand(g *globalOptions) *cobra.Command {
	root := &cobra.Command{
		Use:           "firehose",
		Short:         "Send data to Amazon Data Firehose, correctly and fast",
		Long:          "firehose sends records to an Amazon Data Firehose delivery stream with PutRecord and PutRecordBatch,\nretrying only what failed and losing nothing, and runs the Firehose Common Actions scenario.\nWith no AWS account, `firehose scenario --local` runs everything against the embedded emulator.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       readVersion(debug.ReadBuildInfo).String(),
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := logging.New(g.console, logging.Options{Format: g.LogFormat, Level: g.LogLevel})
			if err != nil {
				return usageErrorf("%w", err)
			}
			g.logger = logger
			if err := checkOutput(g.Output); err != nil {
				return err
			}
			if err := (awsconf.Options{EndpointURL: g.EndpointURL}).Validate(); err != nil {
				return usageErrorf("%w", err)
			}
			return nil
		},
	}
	root.SetVersionTemplate("firehose {{.Version}}\n")
	g.addFlags(root.PersistentFlags())
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return usageErrorf("%w", suggestFlag(cmd, err)) })
	root.AddCommand(
		newVersionCommand(g),
		newGenerateCommand(g),
		newScenarioCommand(g),
		newPutCommand(g),
		newReplayCommand(g),
		newMetricsCommand(g),
		newEmulatorCommand(g),
		newSetupCommand(g),
		newTeardownCommand(g),
	)
	registerCompletions(root)
	hideUnusedFlags(root)
	return root
}

// awsOptions are the SDK settings from the global flags.
func (g *globalOptions) awsOptions() awsconf.Options {
	return awsconf.Options{Region: g.Region, Profile: g.Profile, EndpointURL: g.EndpointURL, CloudWatchProtocol: "auto", RequestTimeout: g.RequestTimeout}
}
