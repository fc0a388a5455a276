package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/firehose-tools/firehose/internal/cwmetrics"
	"github.com/firehose-tools/firehose/internal/ui"
	"github.com/firehose-tools/firehose/producer"
)

// Values of --output.
const (
	outputText = "text"
	outputJSON = "json"
)

// Values offered by shell completion (and accepted by the commands).
var (
	outputFormats      = []string{outputText, outputJSON}
	logFormats         = []string{"text", "json"}
	logLevels          = []string{"debug", "info", "warn", "error"}
	cloudWatchProtocol = []string{"auto", "cbor", "json"}
	// sendFormats are the input formats of put, replay and scenario.
	sendFormats = []string{"auto", "json", "ndjson", "text"}
	// generateFormats are the output formats of generate.
	generateFormats = []string{"json", "ndjson"}
)

func checkOutput(v string) error {
	switch v {
	case outputText, outputJSON:
		return nil
	}
	return usageErrorf("--output %q: want text or json", v)
}

// jsonOutput reports whether --output json asks for one JSON document on
// stdout instead of text for people.
func (g *globalOptions) jsonOutput() bool { return g.Output == outputJSON }

// writeSummary shows a run's summary once: the table on stderr for people,
// or, with --output json, one JSON document on stdout for scripts. With
// --log-format json the table goes to stdout, so that stderr stays JSON
// lines for log shippers.
func (g *globalOptions) writeSummary(sum ui.Summary) error {
	switch {
	case g.jsonOutput():
		return ui.RenderSummaryJSON(g.stdio.Out, sum)
	case strings.EqualFold(g.LogFormat, "json"):
		return ui.RenderSummary(g.stdio.Out, sum)
	default:
		return ui.RenderSummary(g.console, sum)
	}
}

// scenarioJSON is the scenario's --output json document: the run summary
// and, when it was read, the CloudWatch report.
type scenarioJSON struct {
	Summary ui.SummaryJSON        `json:"summary"`
	Metrics *cwmetrics.ReportJSON `json:"metrics,omitempty"`
}

// writeScenarioJSON prints the scenario's one JSON document on stdout: the
// summary, and the metrics report when report is not nil.
func (g *globalOptions) writeScenarioJSON(sum ui.Summary, report *cwmetrics.Report, cs cwmetrics.ClientSide) error {
	doc := scenarioJSON{Summary: sum.JSON()}
	if report != nil {
		m := report.JSON(cs)
		doc.Metrics = &m
	}
	return ui.WriteJSON(g.stdio.Out, doc)
}

// progressInput names an input for the progress display (its base name, or
// "stdin" for "" and "-") and gives its size in bytes when it is a regular
// file (0 otherwise: a pipe, a device, a path that cannot be read).
func progressInput(path string) (label string, size int64) {
	if path == "" || path == "-" {
		return "stdin", 0
	}
	if info, err := os.Stat(path); err == nil && info.Mode().IsRegular() {
		size = info.Size()
	}
	return filepath.Base(path), size
}

// startSendProgress shows the progress of one send phase of p, counted from
// now: a live area on a terminal stderr (log lines above it), else a
// progress log line every few seconds. input is the path being read ("" or
// "-" for stdin); totalRecords is the number of records the phase will
// settle, 0 when unknown; inputOffset, when not nil, is how many bytes of
// the input file have been read (the records reader's InputOffset), which
// with the file's size gives the percentage and ETA. Stop the returned
// display before printing anything else.
func (g *globalOptions) startSendProgress(ctx context.Context, p *producer.Producer, input string, totalRecords int64, inputOffset func() int64) *ui.Progress {
	o := sendProgressOptions(p.Stats, input, totalRecords, inputOffset)
	o.LogInterval = g.progressInterval
	return ui.StartProgress(ctx, g.console, g.logger, o)
}

// sendProgressOptions are the progress options of startSendProgress, with
// the counts taken from stats from now on.
func sendProgressOptions(stats func() producer.Stats, input string, totalRecords int64, inputOffset func() int64) ui.ProgressOptions {
	label, size := progressInput(input)
	before := ui.CountsFromStats(stats())
	var offsetBefore int64
	if inputOffset != nil {
		offsetBefore = inputOffset()
	} else {
		size = 0 // a size without an offset to compare gives no percentage
	}
	return ui.ProgressOptions{
		Label: label, Total: totalRecords, TotalBytes: max(size-offsetBefore, 0),
		Poll: func() ui.Counts {
			c := ui.CountsFromStats(stats()).Sub(before)
			if inputOffset != nil {
				c.InputBytes = inputOffset() - offsetBefore
			}
			return c
		},
	}
}

// registerCompletions offers the values of the flags that take one of a
// few words, wherever such a flag is defined: --output, --log-format and
// --log-level on the root, --cloudwatch-protocol and --format on the
// commands that have them (--format of generate is registered there).
func registerCompletions(root *cobra.Command) {
	fixed := func(values []string) cobra.CompletionFunc {
		return cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)
	}
	for name, values := range map[string][]string{"output": outputFormats, "log-format": logFormats, "log-level": logLevels} {
		_ = root.RegisterFlagCompletionFunc(name, fixed(values))
	}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for name, values := range map[string][]string{"cloudwatch-protocol": cloudWatchProtocol, "format": sendFormats} {
			if c.LocalNonPersistentFlags().Lookup(name) == nil {
				continue
			}
			if _, ok := c.GetFlagCompletionFunc(name); ok {
				continue
			}
			_ = c.RegisterFlagCompletionFunc(name, fixed(values))
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// awsFlags are the global flags that only commands calling AWS use.
var awsFlags = []string{"region", "profile", "endpoint-url", "request-timeout"}

// unusedFlags lists, per command, the global flags its help leaves out
// because the command does not use them.
var unusedFlags = map[string][]string{
	"generate": append([]string{"output"}, awsFlags...),
	"version":  append([]string{"log-format", "log-level"}, awsFlags...),
	// The emulator takes its region from --region, and is the endpoint.
	"emulator": {"output", "profile", "endpoint-url", "request-timeout"},
}

// hideUnusedFlags makes the help of the commands in unusedFlags leave out
// the global flags they do not use.
func hideUnusedFlags(root *cobra.Command) {
	defaultHelp := root.HelpFunc()
	root.SetHelpFunc(func(c *cobra.Command, args []string) {
		var hidden []*pflag.Flag
		for _, name := range unusedFlags[c.Name()] {
			if f := root.PersistentFlags().Lookup(name); f != nil && !f.Hidden {
				f.Hidden = true
				hidden = append(hidden, f)
			}
		}
		defaultHelp(c, args)
		for _, f := range hidden {
			f.Hidden = false
		}
	})
}

// suggestFlag adds "did you mean --stream?" to an unknown-flag error when a
// flag of cmd is a small edit away from the one typed.
func suggestFlag(cmd *cobra.Command, err error) error {
	const prefix = "unknown flag: --"
	msg := err.Error()
	if !strings.HasPrefix(msg, prefix) {
		return err
	}
	typed := strings.TrimPrefix(msg, prefix)
	best, bestDist := "", 3 // suggest within two edits
	visit := func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		d := editDistance(typed, f.Name)
		if 2*d > len(typed) { // "--nope" is not a typo of "--pack"
			return
		}
		if d < bestDist || (d == bestDist && best != "" && f.Name < best) {
			best, bestDist = f.Name, d
		}
	}
	cmd.Flags().VisitAll(visit)
	cmd.InheritedFlags().VisitAll(visit)
	if best == "" {
		return err
	}
	return fmt.Errorf("%w (did you mean --%s?)", err, best)
}

// editDistance is the Levenshtein distance between a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
