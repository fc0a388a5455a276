package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// FaultAction is what a scripted Fault does to each call it takes.
type FaultAction int

// The actions a scripted Fault can take.
const (
	// ActionFail fails the whole call with the Fault's Code before anything
	// of it is accepted.
	ActionFail FaultAction = iota + 1
	// ActionFailRecords accepts the call and fails every record of it with
	// the Fault's Code inside a 200 response (PutRecordBatch); nothing is
	// delivered. PutRecord, which has one record, fails whole with the Code
	// as the real service answers it.
	ActionFailRecords
	// ActionLoseResponse serves the call (the records are delivered) and
	// then drops the connection without an answer: a lost response.
	ActionLoseResponse
	// ActionDropConnection drops the connection before anything of the call
	// is accepted.
	ActionDropConnection
	// ActionDelay waits the Fault's Delay (cut short if the client goes
	// away), then serves the call normally.
	ActionDelay
)

var faultActionNames = map[FaultAction]string{
	ActionFail:           "fail",
	ActionFailRecords:    "fail-records",
	ActionLoseResponse:   "lose-response",
	ActionDropConnection: "drop-connection",
	ActionDelay:          "delay",
}

// String returns the action's name as the HTTP control API spells it:
// fail, fail-records, lose-response, drop-connection or delay.
func (a FaultAction) String() string {
	if n, ok := faultActionNames[a]; ok {
		return n
	}
	return fmt.Sprintf("FaultAction(%d)", int(a))
}

// ParseFaultAction returns the action named s (see FaultAction.String).
func ParseFaultAction(s string) (FaultAction, error) {
	for a, n := range faultActionNames {
		if n == s {
			return a, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown fault action %q (want fail, fail-records, lose-response, drop-connection or delay)", ErrInvalidFault, s)
}

// FaultCode is the error a scripted fault answers with.
type FaultCode string

// Error codes a scripted fault can answer with. Any other
// "SomethingException" code may be used with ActionFail; it is answered
// with HTTP 400.
const (
	// FaultServiceUnavailable is ServiceUnavailableException (HTTP 500 for
	// a whole call), the service's "back off and retry".
	FaultServiceUnavailable FaultCode = "ServiceUnavailableException"
	// FaultThrottled is ServiceUnavailableException with the message
	// "Slow down.", how the service reports a quota exceeded.
	FaultThrottled FaultCode = "Throttled"
	// FaultInternalFailure is InternalFailure (HTTP 500 for a whole call).
	FaultInternalFailure FaultCode = "InternalFailure"
	// FaultInvalidArgument is InvalidArgumentException (HTTP 400).
	FaultInvalidArgument FaultCode = "InvalidArgumentException"
	// FaultResourceNotFound is ResourceNotFoundException (HTTP 400).
	FaultResourceNotFound FaultCode = "ResourceNotFoundException"
	// FaultLimitExceeded is LimitExceededException (HTTP 400).
	FaultLimitExceeded FaultCode = "LimitExceededException"
)

// ErrInvalidFault wraps every problem Control finds in a Fault.
var ErrInvalidFault = errors.New("emulator: invalid fault")

// Fault scripts what the next calls of one Firehose operation meet. Build
// it with FailNext, FailRecordsNext, LoseResponseNext, DropConnectionNext or
// DelayNext, and hand it to Server.Control.
type Fault struct {
	// Operation is the Firehose operation the fault applies to, for example
	// "PutRecordBatch"; empty applies it to every Firehose operation.
	Operation string
	// Times is how many calls the fault takes; at least 1.
	Times int
	// Action is what the fault does to each call it takes.
	Action FaultAction
	// Code is the error answered by ActionFail and ActionFailRecords.
	// Default FaultServiceUnavailable. ActionFailRecords accepts
	// FaultServiceUnavailable, FaultThrottled and FaultInternalFailure, the
	// codes a record can fail with.
	Code FaultCode
	// Delay is how long ActionDelay waits.
	Delay time.Duration
}

// FailNext fails the next n calls of op whole with code (before anything of
// them is accepted). An empty op means any Firehose operation.
func FailNext(op string, n int, code FaultCode) Fault {
	return Fault{Operation: op, Times: n, Action: ActionFail, Code: code}
}

// FailRecordsNext accepts the next n calls of op (PutRecord or
// PutRecordBatch) and fails every record of them with code inside the
// answer; nothing of them is delivered.
func FailRecordsNext(op string, n int, code FaultCode) Fault {
	return Fault{Operation: op, Times: n, Action: ActionFailRecords, Code: code}
}

// LoseResponseNext serves the next n calls of op (their records are
// delivered) and drops each connection without an answer.
func LoseResponseNext(op string, n int) Fault {
	return Fault{Operation: op, Times: n, Action: ActionLoseResponse}
}

// DropConnectionNext drops the connection of the next n calls of op before
// anything of them is accepted.
func DropConnectionNext(op string, n int) Fault {
	return Fault{Operation: op, Times: n, Action: ActionDropConnection}
}

// DelayNext delays the answer of the next n calls of op by d.
func DelayNext(op string, n int, d time.Duration) Fault {
	return Fault{Operation: op, Times: n, Action: ActionDelay, Delay: d}
}

var putOperations = []string{"PutRecord", "PutRecordBatch"}

func (f *Fault) validate() error {
	if f.Times < 1 {
		return fmt.Errorf("%w: Times %d is not at least 1", ErrInvalidFault, f.Times)
	}
	if f.Operation != "" && !streamNamePattern.MatchString(f.Operation) {
		return fmt.Errorf("%w: operation %q is not a Firehose operation name", ErrInvalidFault, f.Operation)
	}
	switch f.Action {
	case ActionFail:
		if f.Code == "" {
			f.Code = FaultServiceUnavailable
		}
		if !strings.HasSuffix(string(f.Code), "Exception") && f.Code != FaultInternalFailure && f.Code != FaultThrottled {
			return fmt.Errorf("%w: code %q is not an AWS error code", ErrInvalidFault, f.Code)
		}
	case ActionFailRecords:
		if f.Code == "" {
			f.Code = FaultServiceUnavailable
		}
		if !slices.Contains(putOperations, f.Operation) {
			return fmt.Errorf("%w: fail-records applies to PutRecord or PutRecordBatch, not %q", ErrInvalidFault, f.Operation)
		}
		if _, ok := recordOutcomeOf(f.Code); !ok {
			return fmt.Errorf("%w: a record fails with ServiceUnavailableException, Throttled or InternalFailure, not %q", ErrInvalidFault, f.Code)
		}
	case ActionLoseResponse, ActionDropConnection:
	case ActionDelay:
		if f.Delay <= 0 {
			return fmt.Errorf("%w: delay %v is not positive", ErrInvalidFault, f.Delay)
		}
	default:
		return fmt.Errorf("%w: unknown action %v", ErrInvalidFault, f.Action)
	}
	return nil
}

func recordOutcomeOf(c FaultCode) (recordOutcome, bool) {
	switch c {
	case FaultServiceUnavailable:
		return outcomeUnavailable, true
	case FaultThrottled:
		return outcomeThrottled, true
	case FaultInternalFailure:
		return outcomeInternal, true
	}
	return outcomeOK, false
}

// apiError is the whole-call error of an ActionFail fault.
func (f *Fault) apiError() *apiError {
	if o, ok := recordOutcomeOf(f.Code); ok {
		return o.apiError()
	}
	return &apiError{code: string(f.Code), message: "injected by the emulator's fault control", status: http.StatusBadRequest}
}

// faultScript is the queue of scripted faults. The first pending fault
// whose operation matches takes a call.
type faultScript struct {
	mu      sync.Mutex
	pending []Fault
}

func (fs *faultScript) add(faults []Fault) error {
	checked := make([]Fault, len(faults))
	for i, f := range faults {
		if err := f.validate(); err != nil {
			return err
		}
		checked[i] = f
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.pending = append(fs.pending, checked...)
	return nil
}

// take returns the fault that takes a call of op, if any, and counts it.
func (fs *faultScript) take(op string) (Fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i := range fs.pending {
		f := &fs.pending[i]
		if f.Operation != "" && f.Operation != op {
			continue
		}
		taken := *f
		f.Times--
		if f.Times == 0 {
			fs.pending = slices.Delete(fs.pending, i, i+1)
		}
		return taken, true
	}
	return Fault{}, false
}

func (fs *faultScript) list() []Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return slices.Clone(fs.pending)
}

func (fs *faultScript) clear() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.pending = nil
}

// Control scripts faults at run time: each Fault takes the next Times calls
// of its operation, in the order given, after the faults scripted before
// it. A call is taken by the first pending fault whose operation matches.
// Scripted faults come on top of the random ones of FaultConfig. Control
// returns an error wrapping ErrInvalidFault, and scripts nothing, if any
// fault is invalid.
//
//	srv.Control(emulator.FailNext("PutRecordBatch", 3, emulator.FaultInternalFailure))
func (s *Server) Control(faults ...Fault) error {
	return s.script.add(faults)
}

// PendingFaults returns the scripted faults not yet used up, with the calls
// each still takes in Times.
func (s *Server) PendingFaults() []Fault {
	return s.script.list()
}

// ClearFaults drops every scripted fault not yet used up.
func (s *Server) ClearFaults() {
	s.script.clear()
}

// scriptedOutcome is what a scripted fault does to one Firehose call.
type scriptedOutcome struct {
	forced recordOutcome // fail every record with this (ActionFailRecords)
	err    *apiError     // fail the whole call (ActionFail)
	lost   bool          // serve the call, answer nothing, drop the connection
	stop   bool          // the call is over: connection dropped or client gone
}

// applyScriptedFault takes the pending fault for a call of op, if any, and
// does what is done before the call is served: dropping the connection,
// waiting.
func (s *Server) applyScriptedFault(w http.ResponseWriter, r *http.Request, op string) scriptedOutcome {
	f, ok := s.script.take(op)
	if !ok {
		return scriptedOutcome{}
	}
	s.log.Debug("emulator: scripted fault", slog.String("op", op), slog.String("action", f.Action.String()))
	var out scriptedOutcome
	switch f.Action {
	case ActionFail:
		out.err = f.apiError()
	case ActionFailRecords:
		out.forced, _ = recordOutcomeOf(f.Code)
	case ActionLoseResponse:
		out.lost = true
	case ActionDropConnection:
		dropConnection(w)
		out.stop = true
	case ActionDelay:
		out.stop = !sleepContext(r, f.Delay)
	}
	return out
}

// discardingWriter swallows an answer: a lost response is served in full,
// then its connection dropped.
type discardingWriter struct{ header http.Header }

func (d *discardingWriter) Header() http.Header         { return d.header }
func (d *discardingWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardingWriter) WriteHeader(int)             {}

// The HTTP control API, for tests written in other languages.

// controlPathPrefix is shared with the web page (routes.go), which serves
// every other path under it.
const controlPathPrefix = "/_emulator/"

// isControlPath reports whether path is one of the control API's.
func isControlPath(path string) bool {
	return path == controlPathPrefix+"faults" || path == controlPathPrefix+"stats"
}

// faultJSON is a Fault as the HTTP control API reads and writes it.
type faultJSON struct {
	Operation string `json:"operation,omitempty"`
	Times     int    `json:"times"`
	Action    string `json:"action"`
	Code      string `json:"code,omitempty"`
	Delay     string `json:"delay,omitempty"`
}

func (f Fault) toJSON() faultJSON {
	j := faultJSON{Operation: f.Operation, Times: f.Times, Action: f.Action.String(), Code: string(f.Code)}
	if f.Delay > 0 {
		j.Delay = f.Delay.String()
	}
	return j
}

func (j faultJSON) toFault() (Fault, error) {
	a, err := ParseFaultAction(j.Action)
	if err != nil {
		return Fault{}, err
	}
	f := Fault{Operation: j.Operation, Times: j.Times, Action: a, Code: FaultCode(j.Code)}
	if j.Delay != "" {
		d, err := time.ParseDuration(j.Delay)
		if err != nil {
			return Fault{}, fmt.Errorf("%w: delay %q: %w", ErrInvalidFault, j.Delay, err)
		}
		f.Delay = d
	}
	return f, nil
}

type faultsBody struct {
	Faults []faultJSON `json:"faults"`
}

// serveControl serves the control API:
//
//	GET    /_emulator/faults  the pending scripted faults
//	POST   /_emulator/faults  script faults: {"faults":[{"operation":"PutRecordBatch","times":3,"action":"fail","code":"InternalFailure"}]}
//	DELETE /_emulator/faults  drop every pending scripted fault
//	GET    /_emulator/stats   open connections, requests in flight, request bytes held
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case controlPathPrefix + "faults":
		s.serveFaults(w, r)
	case controlPathPrefix + "stats":
		if r.Method != http.MethodGet {
			controlError(w, http.StatusMethodNotAllowed, "use GET")
			return
		}
		controlJSON(w, s.Stats())
	default:
		controlError(w, http.StatusNotFound, "unknown control path "+r.URL.Path+"; see the emulator package doc")
	}
}

func (s *Server) serveFaults(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
	case http.MethodDelete:
		s.ClearFaults()
	case http.MethodPost:
		var in faultsBody
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			controlError(w, http.StatusBadRequest, "bad faults body: "+err.Error())
			return
		}
		faults := make([]Fault, 0, len(in.Faults))
		for _, j := range in.Faults {
			f, err := j.toFault()
			if err != nil {
				controlError(w, http.StatusBadRequest, err.Error())
				return
			}
			faults = append(faults, f)
		}
		if err := s.Control(faults...); err != nil {
			controlError(w, http.StatusBadRequest, err.Error())
			return
		}
	default:
		controlError(w, http.StatusMethodNotAllowed, "use GET, POST or DELETE")
		return
	}
	out := faultsBody{Faults: []faultJSON{}}
	for _, f := range s.PendingFaults() {
		out.Faults = append(out.Faults, f.toJSON())
	}
	controlJSON(w, out)
}

func controlJSON(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		controlError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(body, '\n'))
}

func controlError(w http.ResponseWriter, status int, msg string) {
	body, _ := json.Marshal(map[string]string{"message": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
