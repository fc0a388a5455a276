package cli

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/firehose-tools/firehose/internal/ui"
)

// buildVersion is what the binary knows about its own build.
type buildVersion struct {
	// Version is the module version ("v1.2.0"), or "(devel)" for a build
	// from a checkout.
	Version string `json:"version"`
	// Commit, CommitTime and Modified come from the VCS stamp that go build
	// records in a checkout (empty when absent).
	Commit     string `json:"commit,omitempty"`
	CommitTime string `json:"commit_time,omitempty"`
	Modified   bool   `json:"modified,omitempty"`
	// GoVersion is the toolchain that built the binary.
	GoVersion string `json:"go_version"`
}

// readVersion reads the build information (runtime/debug.ReadBuildInfo in
// the binary).
func readVersion(read func() (*debug.BuildInfo, bool)) buildVersion {
	v := buildVersion{Version: "(devel)"}
	info, ok := read()
	if !ok {
		return v
	}
	if info.Main.Version != "" {
		v.Version = info.Main.Version
	}
	v.GoVersion = info.GoVersion
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.time":
			v.CommitTime = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// String is the one-line version: "v1.2.0 (commit 0123456789ab,
// 2026-11-30T12:00:00Z, modified; go1.26.8)".
func (v buildVersion) String() string {
	var details []string
	if v.Commit != "" {
		c := "commit " + v.Commit[:min(12, len(v.Commit))]
		if v.CommitTime != "" {
			c += ", " + v.CommitTime
		}
		if v.Modified {
			c += ", modified"
		}
		details = append(details, c)
	}
	if v.GoVersion != "" {
		details = append(details, v.GoVersion)
	}
	if len(details) == 0 {
		return v.Version
	}
	return v.Version + " (" + strings.Join(details, "; ") + ")"
}

func newVersionCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and the commit the binary was built from",
		Long: `Print the module version and the VCS commit recorded in the binary at build time
(the same as --version). With --output json: {"version", "commit", "commit_time", "modified", "go_version"}.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			v := readVersion(debug.ReadBuildInfo)
			if g.jsonOutput() {
				return ui.WriteJSON(g.stdio.Out, v)
			}
			_, err := fmt.Fprintf(g.stdio.Out, "firehose %s\n", v)
			return err
		},
	}
}
