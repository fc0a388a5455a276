package infra

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
)

// scriptedFirehose answers CreateDeliveryStream and DescribeDeliveryStream
// from scripts (the last entry repeats) and counts the calls; it is for the
// pure retry and wait logic, which moto cannot provoke.
type scriptedFirehose struct {
	FirehoseAPI // unused methods panic if called
	creates     []error
	deletes     []error
	deleteCalls int
	statuses    []fhtypes.DeliveryStreamStatus
	createCalls int
	descCalls   int
}

func (f *scriptedFirehose) CreateDeliveryStream(context.Context, *firehose.CreateDeliveryStreamInput, ...func(*firehose.Options)) (*firehose.CreateDeliveryStreamOutput, error) {
	err := f.creates[min(f.createCalls, len(f.creates)-1)]
	f.createCalls++
	return &firehose.CreateDeliveryStreamOutput{}, err
}

func (f *scriptedFirehose) DeleteDeliveryStream(context.Context, *firehose.DeleteDeliveryStreamInput, ...func(*firehose.Options)) (*firehose.DeleteDeliveryStreamOutput, error) {
	err := f.deletes[min(f.deleteCalls, len(f.deletes)-1)]
	f.deleteCalls++
	return &firehose.DeleteDeliveryStreamOutput{}, err
}

func (f *scriptedFirehose) DescribeDeliveryStream(context.Context, *firehose.DescribeDeliveryStreamInput, ...func(*firehose.Options)) (*firehose.DescribeDeliveryStreamOutput, error) {
	s := f.statuses[min(f.descCalls, len(f.statuses)-1)]
	f.descCalls++
	if s == "" {
		return nil, &fhtypes.ResourceNotFoundException{Message: aws.String("not found")}
	}
	return &firehose.DescribeDeliveryStreamOutput{DeliveryStreamDescription: &fhtypes.DeliveryStreamDescription{
		DeliveryStreamName: aws.String("s"), DeliveryStreamStatus: s,
	}}, nil
}

var errAssume = &fhtypes.InvalidArgumentException{Message: aws.String("Firehose is unable to assume role arn:aws:iam::123456789012:role/r. Please check the role provided.")}

func TestCreateStreamRetriesWhileRoleIsNotUsable(t *testing.T) {
	otherInvalid := &fhtypes.InvalidArgumentException{Message: aws.String("BufferingHints.SizeInMBs must be at least 1")}
	tests := []struct {
		name        string
		creates     []error
		deletes     []error
		deleteCalls int
		wantErr     error // nil, ErrTimeout, or matched with errors.As for the SDK type
		wantStatus  Status
		wantCalls   int // exact, or minimum when wantErr is ErrTimeout
		wantElapsed time.Duration
	}{
		{name: "succeeds after three refusals", creates: []error{errAssume, errAssume, errAssume, nil}, wantStatus: StatusCreated, wantCalls: 4},
		{name: "in use counts as existing", creates: []error{errAssume, &fhtypes.ResourceInUseException{Message: aws.String("exists")}}, wantStatus: StatusExists, wantCalls: 2},
		{name: "other invalid argument is not retried", creates: []error{otherInvalid}, wantErr: otherInvalid, wantCalls: 1},
		{name: "gives up after the budget", creates: []error{errAssume}, wantErr: ErrTimeout, wantCalls: 3, wantElapsed: time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fh := &scriptedFirehose{creates: tt.creates}
				o := SetupOptions{Stream: "s", Bucket: "b-ok"}.withDefaults()
				o.RolePropagationTimeout = time.Minute
				start := time.Now()
				status, err := createStream(t.Context(), fh, o, identity{partition: "aws"}, "arn:aws:iam::123456789012:role/r", discardIfNil(nil))
				elapsed := time.Since(start)
				switch {
				case tt.wantErr == nil && err != nil:
					t.Fatalf("createStream: %v", err)
				case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
					t.Fatalf("createStream error = %v, want %v", err, tt.wantErr)
				}
				if tt.wantErr == ErrTimeout {
					if fh.createCalls < tt.wantCalls || elapsed < tt.wantElapsed {
						t.Errorf("gave up after %d calls and %s, want at least %d calls over %s", fh.createCalls, elapsed, tt.wantCalls, tt.wantElapsed)
					}
					if !strings.Contains(err.Error(), "unable to assume role") {
						t.Errorf("timeout error %q does not carry the last refusal", err)
					}
					return
				}
				if fh.createCalls != tt.wantCalls {
					t.Errorf("CreateDeliveryStream calls = %d, want %d", fh.createCalls, tt.wantCalls)
				}
				if err == nil && status != tt.wantStatus {
					t.Errorf("status = %s, want %s", status, tt.wantStatus)
				}
			})
		})
	}
}

func TestWaitActive(t *testing.T) {
	const creating, active, failed = fhtypes.DeliveryStreamStatusCreating, fhtypes.DeliveryStreamStatusActive, fhtypes.DeliveryStreamStatusCreatingFailed
	tests := []struct {
		name      string
		statuses  []fhtypes.DeliveryStreamStatus
		wantErr   error
		wantCalls int
	}{
		{name: "active at once", statuses: []fhtypes.DeliveryStreamStatus{active}, wantCalls: 1},
		{name: "creating then active", statuses: []fhtypes.DeliveryStreamStatus{creating, creating, creating, active}, wantCalls: 4},
		{name: "creation failed", statuses: []fhtypes.DeliveryStreamStatus{creating, failed}, wantErr: ErrStreamState, wantCalls: 2},
		{name: "disappeared", statuses: []fhtypes.DeliveryStreamStatus{creating, ""}, wantErr: ErrStreamState, wantCalls: 2},
		{name: "never active", statuses: []fhtypes.DeliveryStreamStatus{creating}, wantErr: ErrTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fh := &scriptedFirehose{statuses: tt.statuses}
				o := SetupOptions{Stream: "s", WaitTimeout: 2 * time.Minute}
				start := time.Now()
				d, err := waitActive(t.Context(), fh, o, discardIfNil(nil))
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("waitActive error = %v, want %v", err, tt.wantErr)
				}
				if tt.wantErr == ErrTimeout {
					if got := time.Since(start); got < o.WaitTimeout {
						t.Errorf("timed out after %s, before the %s budget", got, o.WaitTimeout)
					}
					return
				}
				if fh.descCalls != tt.wantCalls {
					t.Errorf("DescribeDeliveryStream calls = %d, want %d", fh.descCalls, tt.wantCalls)
				}
				if err == nil && d.DeliveryStreamStatus != active {
					t.Errorf("returned status %s, want ACTIVE", d.DeliveryStreamStatus)
				}
			})
		})
	}
}

func TestPollStopsWhenContextIsCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		calls := 0
		go func() {
			time.Sleep(30 * time.Second)
			cancel()
		}()
		err := poll(ctx, time.Hour, 10*time.Second, "wait", func(context.Context) (bool, error) { calls++; return false, nil })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("poll error = %v, want context.Canceled", err)
		}
		if calls < 2 {
			t.Errorf("step called %d times in 30s, want several", calls)
		}
	})
}

func TestTeardownRefusal(t *testing.T) {
	tests := []struct {
		name string
		tags map[string]string
		want string // substring; "" means deletable
	}{
		{"managed for this stream", map[string]string{TagManaged: "true", TagStream: "s"}, ""},
		{"no tags", map[string]string{}, "not created by firehose setup"},
		{"managed flag false", map[string]string{TagManaged: "false", TagStream: "s"}, "not created by firehose setup"},
		{"other stream", map[string]string{TagManaged: "true", TagStream: "other"}, `tagged for stream "other"`},
		{"from a CloudFormation stack", map[string]string{TagManaged: "true", TagStream: "s", "aws:cloudformation:stack-name": "firehose-scenario"}, `CloudFormation stack "firehose-scenario"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := teardownRefusal(tt.tags, "s")
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("teardownRefusal(%v) = %q, want %q", tt.tags, got, tt.want)
			}
		})
	}
}

func TestDeleteStream(t *testing.T) {
	inUse := &fhtypes.ResourceInUseException{Message: aws.String("stream is CREATING")}
	notFound := &fhtypes.ResourceNotFoundException{Message: aws.String("not found")}
	const deleting = fhtypes.DeliveryStreamStatusDeleting
	tests := []struct {
		name        string
		deletes     []error
		statuses    []fhtypes.DeliveryStreamStatus // "" is not found
		wantGone    bool
		wantErr     error
		wantDeletes int
	}{
		{name: "deleted and waited for", deletes: []error{nil}, statuses: []fhtypes.DeliveryStreamStatus{deleting, deleting, ""}, wantDeletes: 1},
		{name: "already gone", deletes: []error{notFound}, statuses: []fhtypes.DeliveryStreamStatus{""}, wantGone: true, wantDeletes: 1},
		{name: "still creating, then deleted", deletes: []error{inUse, inUse, nil}, statuses: []fhtypes.DeliveryStreamStatus{""}, wantDeletes: 3},
		{name: "never deletable", deletes: []error{inUse}, statuses: []fhtypes.DeliveryStreamStatus{""}, wantErr: ErrTimeout},
		{name: "never disappears", deletes: []error{nil}, statuses: []fhtypes.DeliveryStreamStatus{deleting}, wantErr: ErrTimeout, wantDeletes: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fh := &scriptedFirehose{deletes: tt.deletes, statuses: tt.statuses}
				gone, err := deleteStream(t.Context(), fh, TeardownOptions{Stream: "s", WaitTimeout: time.Minute}, discardIfNil(nil))
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("deleteStream error = %v, want %v", err, tt.wantErr)
				}
				if gone != tt.wantGone {
					t.Errorf("gone = %v, want %v", gone, tt.wantGone)
				}
				if tt.wantDeletes > 0 && fh.deleteCalls != tt.wantDeletes {
					t.Errorf("DeleteDeliveryStream calls = %d, want %d", fh.deleteCalls, tt.wantDeletes)
				}
			})
		})
	}
}
