package cli

import (
	"encoding/json"
	"runtime/debug"
	"strings"
	"testing"
)

// TestUsageErrors: bad flags exit 2 with a message naming the flag, before
// anything starts.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"scenario protocol", []string{"scenario", "--local", "--cloudwatch-protocol", "xml"}, "--cloudwatch-protocol"},
		{"metrics protocol", []string{"metrics", "--stream", "s", "--cloudwatch-protocol", "xml"}, "--cloudwatch-protocol"},
		{"batch size", []string{"put", "--stream", "s", "--batch-size", "501", "-"}, "--batch-size 501"},
		{"pack size", []string{"put", "--stream", "s", "--pack-size", "2000000", "-"}, "--pack-size"},
		{"format", []string{"put", "--stream", "s", "--format", "csv", "-"}, "--format"},
		{"no stream", []string{"put", "-"}, "--stream is required"},
		{"scenario without a stream", []string{"scenario"}, "--stream is required (or --local"},
		{"local and endpoint", []string{"--endpoint-url", "http://127.0.0.1:1", "scenario", "--local"}, "--local and --endpoint-url"},
		{"log format", []string{"--log-format", "xml", "generate", "--out", "-"}, "--log-format"},
		{"unknown flag", []string{"put", "--nope"}, "unknown flag"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, nil, tc.args...)
			if code != exitFatal {
				t.Fatalf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr %q does not name %q", errOut, tc.want)
			}
		})
	}
}

// TestFlagErrorsExact: the whole message of a bad flag, nothing on stdout.
func TestFlagErrorsExact(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"typo of --stream", []string{"put", "--steam", "s", "-"}, "firehose: unknown flag: --steam (did you mean --stream?)\n"},
		{"typo of a global flag", []string{"put", "--regoin", "x", "-"}, "firehose: unknown flag: --regoin (did you mean --region?)\n"},
		{"typo of --period", []string{"metrics", "--perod", "1m"}, "firehose: unknown flag: --perod (did you mean --period?)\n"},
		{"nothing close", []string{"put", "--nope"}, "firehose: unknown flag: --nope\n"},
		{"output", []string{"--output", "yaml", "generate", "--out", "-"}, "firehose: --output \"yaml\": want text or json\n"},
		{
			"endpoint without a scheme", []string{"--endpoint-url", "localhost:4566", "put", "--stream", "s", "-"},
			"firehose: --endpoint-url: want an http:// or https:// URL with a host, such as http://127.0.0.1:4573; got \"localhost:4566\"\n",
		},
		{
			"endpoint without a host", []string{"--endpoint-url", "http://", "metrics", "--stream", "s"},
			"firehose: --endpoint-url: want an http:// or https:// URL with a host, such as http://127.0.0.1:4573; got \"http://\"\n",
		},
		{"metrics period", []string{"metrics", "--stream", "s", "--period", "30s"}, "firehose: --period 30s: must be a whole number of minutes (1m, 5m, ...)\n"},
		{"metrics since", []string{"metrics", "--stream", "s", "--since", "-1m"}, "firehose: --since -1m0s: must be positive\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, nil, tc.args...)
			if code != exitFatal || out != "" || errOut != tc.want {
				t.Errorf("exit %d, stdout %q\nstderr %q\nwant   %q", code, out, errOut, tc.want)
			}
		})
	}
}

// TestCompletion: the flags that take one of a few words offer them.
func TestCompletion(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"__complete", "put", "--format", ""}, "auto\njson\nndjson\ntext\n:4\n"},
		{[]string{"__complete", "replay", "--format", ""}, "auto\njson\nndjson\ntext\n:4\n"},
		{[]string{"__complete", "scenario", "--format", ""}, "auto\njson\nndjson\ntext\n:4\n"},
		{[]string{"__complete", "generate", "--format", ""}, "json\nndjson\n:4\n"},
		{[]string{"__complete", "put", "--log-format", ""}, "text\njson\n:4\n"},
		{[]string{"__complete", "metrics", "--log-level", ""}, "debug\ninfo\nwarn\nerror\n:4\n"},
		{[]string{"__complete", "metrics", "--cloudwatch-protocol", ""}, "auto\ncbor\njson\n:4\n"},
		{[]string{"__complete", "scenario", "--cloudwatch-protocol", "c"}, "auto\ncbor\njson\n:4\n"},
		{[]string{"__complete", "put", "--output", ""}, "text\njson\n:4\n"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args[1:], " "), func(t *testing.T) {
			code, out, _ := runCLI(t, nil, tc.args...)
			if code != exitOK || out != tc.want {
				t.Errorf("exit %d, got %q, want %q", code, out, tc.want)
			}
		})
	}
}

// TestHelpListsOnlyUsedFlags: generate and emulator do not list the AWS
// flags they ignore; put lists them all.
func TestHelpListsOnlyUsedFlags(t *testing.T) {
	tests := []struct {
		cmd           string
		want, notWant []string
	}{
		{"generate", []string{"--log-level"}, []string{"--region", "--profile", "--endpoint-url", "--request-timeout", "--output"}},
		{"emulator", []string{"--region", "--log-level"}, []string{"--profile", "--endpoint-url", "--request-timeout", "--output"}},
		{"put", []string{"--region", "--profile", "--endpoint-url", "--request-timeout", "--output"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.cmd, func(t *testing.T) {
			code, out, _ := runCLI(t, nil, tc.cmd, "--help")
			if code != exitOK || !strings.Contains(out, "\nFlags:") {
				t.Fatalf("exit %d:\n%s", code, out)
			}
			out = out[strings.Index(out, "\nFlags:"):] // the flag lists, not the prose above

			for _, w := range tc.want {
				if !strings.Contains(out, w+" ") {
					t.Errorf("help of %s does not list %s:\n%s", tc.cmd, w, out)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(out, w+" ") {
					t.Errorf("help of %s lists %s:\n%s", tc.cmd, w, out)
				}
			}
		})
	}
	// Hiding is for the help of those commands only.
	if _, out, _ := runCLI(t, nil, "put", "--help"); !strings.Contains(out, "--profile") {
		t.Error("put --help lost --profile after generate --help")
	}
}

func TestVersion(t *testing.T) {
	want := readVersion(debug.ReadBuildInfo)
	if want.Version == "" || want.GoVersion == "" {
		t.Fatalf("build info not read: %+v", want)
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, errOut := runCLI(t, nil, args...)
		if code != exitOK || out != "firehose "+want.String()+"\n" || errOut != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	code, out, _ := runCLI(t, nil, "--output", "json", "version")
	var got buildVersion
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != exitOK {
		t.Fatalf("exit %d, %v: %q", code, err, out)
	}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestBuildVersionString(t *testing.T) {
	tests := []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{"no build info", nil, "(devel)"},
		{"checkout without VCS stamp", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, "(devel) (go1.26.8)"},
		{
			"release",
			&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}, Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-11-30T12:00:00Z"}, {Key: "vcs.modified", Value: "false"},
			}},
			"v1.2.0 (commit 0123456789ab, 2026-11-30T12:00:00Z; go1.26.8)",
		},
		{
			"modified checkout",
			&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "true"},
			}},
			"(devel) (commit abc, modified; go1.26.8)",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := readVersion(func() (*debug.BuildInfo, bool) { return tc.info, tc.info != nil }).String()
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"steam", "stream", 1}, {"", "abc", 3}, {"abc", "abc", 0}, {"perod", "period", 1}, {"regoin", "region", 2},
	}
	for _, tc := range tests {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
