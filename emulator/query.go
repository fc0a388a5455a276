package emulator

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// CloudWatch over the awsQuery protocol, what older SDKs send (the Java SDK
// 1.x and v2 before 2.40.6, aws-sdk-go v1, older botocore): a form-encoded
// POST to "/" with Action=<Op>&Version=2010-08-01, lists flattened as
// Name.member.N, answered in XML. The operations and their checks are the
// ones of cloudwatch.go; this file only translates the wire format.

const (
	cwQueryVersion   = "2010-08-01"
	cwQueryNamespace = "http://monitoring.amazonaws.com/doc/2010-08-01/"
)

// cwQueryActions are the operations served over awsQuery.
var cwQueryActions = map[string]bool{
	"GetMetricData": true, "GetMetricStatistics": true, "ListMetrics": true, "PutMetricData": true,
}

// isQueryRequest reports whether r is an awsQuery call: a form-encoded POST
// without an X-Amz-Target.
func isQueryRequest(r *http.Request) bool {
	if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}

func (s *Server) serveQuery(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		queryCodec{}.writeError(w, cwInvalidParameter("could not read the request body"))
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		queryCodec{}.writeError(w, cwInvalidParameter("the request body is not a valid form: "+err.Error()))
		return
	}
	action := form.Get("Action")
	if v := form.Get("Version"); v != "" && v != cwQueryVersion {
		queryCodec{}.writeError(w, &cwError{queryCode: "InvalidAction", status: http.StatusBadRequest, sender: true,
			message: fmt.Sprintf("the emulator serves CloudWatch API version %s, not %s", cwQueryVersion, v)})
		return
	}
	if !cwQueryActions[action] {
		queryCodec{}.writeError(w, &cwError{queryCode: "InvalidAction", status: http.StatusBadRequest, sender: true,
			message: fmt.Sprintf("The action %s is not valid for this web service (the emulator serves GetMetricData, GetMetricStatistics, ListMetrics and PutMetricData).", action)})
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.serveCloudWatch(w, r, action, queryCodec{action: action})
}

// queryCodec decodes a form into the wire shapes of cloudwatch.go (by their
// json names) and encodes answers as the query protocol's XML.
type queryCodec struct{ action string }

func (queryCodec) decode(body []byte, v any) error {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return err
	}
	d := formDecoder{form: form, prefixes: make(map[string]bool, len(form)*2)}
	for k := range form {
		for i := range len(k) {
			if k[i] == '.' {
				d.prefixes[k[:i]] = true
			}
		}
		d.prefixes[k] = true
	}
	return d.decodeStruct("", reflect.ValueOf(v).Elem())
}

// formDecoder fills a struct from flattened query parameters.
type formDecoder struct {
	form     url.Values
	prefixes map[string]bool // every key and every dotted prefix of a key
}

var cwTimeType = reflect.TypeFor[cwTime]()

func wireName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "" || name == "-" {
		return f.Name
	}
	return name
}

func (d *formDecoder) decodeStruct(prefix string, v reflect.Value) error {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if err := d.decodeValue(prefix+wireName(f), v.Field(i)); err != nil {
			return err
		}
	}
	return nil
}

func (d *formDecoder) decodeValue(key string, v reflect.Value) error {
	if !d.prefixes[key] {
		return nil
	}
	if v.Kind() == reflect.Pointer {
		v.Set(reflect.New(v.Type().Elem()))
		v = v.Elem()
	}
	raw := d.form.Get(key)
	switch {
	case v.Type() == cwTimeType:
		t, err := parseQueryTime(raw)
		if err != nil {
			return cwInvalidParameter(fmt.Sprintf("The value %s for parameter %s is not a valid timestamp.", raw, key))
		}
		v.Set(reflect.ValueOf(cwTime{t}))
		return nil
	case v.Kind() == reflect.Struct:
		return d.decodeStruct(key+".", v)
	case v.Kind() == reflect.Slice:
		for n := 1; ; n++ {
			member := key + ".member." + strconv.Itoa(n)
			if !d.prefixes[member] {
				return nil
			}
			elem := reflect.New(v.Type().Elem()).Elem()
			if err := d.decodeValue(member, elem); err != nil {
				return err
			}
			v.Set(reflect.Append(v, elem))
		}
	}
	var err error
	switch v.Kind() {
	case reflect.String:
		v.SetString(raw)
	case reflect.Int64, reflect.Int:
		var n int64
		n, err = strconv.ParseInt(raw, 10, 64)
		v.SetInt(n)
	case reflect.Float64:
		var f float64
		f, err = strconv.ParseFloat(raw, 64)
		v.SetFloat(f)
	case reflect.Bool:
		var b bool
		b, err = strconv.ParseBool(raw)
		v.SetBool(b)
	default:
		return fmt.Errorf("query decoder: unsupported kind %s for %s", v.Kind(), key)
	}
	if err != nil {
		return cwInvalidParameter(fmt.Sprintf("The value %s for parameter %s is invalid.", raw, key))
	}
	return nil
}

// parseQueryTime reads an ISO 8601 timestamp (what query clients send) or
// epoch seconds.
func parseQueryTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return time.Time{}, err
	}
	return floatSecondsToTime(f), nil
}

func (c queryCodec) write(w http.ResponseWriter, v any) error {
	var b bytes.Buffer
	b.WriteString(`<` + c.action + `Response xmlns="` + cwQueryNamespace + `">`)
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	if rv.Kind() == reflect.Struct && rv.NumField() > 0 {
		b.WriteString("<" + c.action + "Result>")
		writeXMLFields(&b, rv)
		b.WriteString("</" + c.action + "Result>")
	}
	reqID := uuid.NewString()
	b.WriteString("<ResponseMetadata><RequestId>" + reqID + "</RequestId></ResponseMetadata>")
	b.WriteString("</" + c.action + "Response>")
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("X-Amzn-Requestid", reqID)
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes())
	return nil
}

func (queryCodec) writeError(w http.ResponseWriter, e *cwError) {
	var b bytes.Buffer
	typ := "Receiver"
	if e.sender {
		typ = "Sender"
	}
	reqID := uuid.NewString()
	b.WriteString(`<ErrorResponse xmlns="` + cwQueryNamespace + `"><Error><Type>` + typ + `</Type><Code>`)
	xmlText(&b, e.queryCode)
	b.WriteString("</Code><Message>")
	xmlText(&b, e.message)
	b.WriteString("</Message></Error><RequestId>" + reqID + "</RequestId></ErrorResponse>")
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("X-Amzn-Requestid", reqID)
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(e.status)
	_, _ = w.Write(b.Bytes())
}

// writeXMLFields writes the fields of struct v as elements named by their
// json names; omitempty fields that are empty and nil pointers are left out.
func writeXMLFields(b *bytes.Buffer, v reflect.Value) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		fv := v.Field(i)
		if strings.Contains(f.Tag.Get("json"), ",omitempty") && fv.IsZero() {
			continue
		}
		writeXMLValue(b, wireName(f), fv)
	}
}

func writeXMLValue(b *bytes.Buffer, name string, v reflect.Value) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	b.WriteString("<" + name + ">")
	switch {
	case v.Type() == cwTimeType:
		b.WriteString(v.Interface().(cwTime).UTC().Format("2006-01-02T15:04:05.000Z"))
	case v.Kind() == reflect.Struct:
		writeXMLFields(b, v)
	case v.Kind() == reflect.Slice:
		for j := range v.Len() {
			writeXMLValue(b, "member", v.Index(j))
		}
	case v.Kind() == reflect.String:
		xmlText(b, v.String())
	case v.Kind() == reflect.Float64:
		b.WriteString(strconv.FormatFloat(v.Float(), 'f', -1, 64))
	case v.Kind() == reflect.Int64 || v.Kind() == reflect.Int:
		b.WriteString(strconv.FormatInt(v.Int(), 10))
	case v.Kind() == reflect.Bool:
		b.WriteString(strconv.FormatBool(v.Bool()))
	}
	b.WriteString("</" + name + ">")
}

var _ cwCodec = queryCodec{}
