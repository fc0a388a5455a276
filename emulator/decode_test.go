package emulator

import (
	"bytes"
	"testing"
)

// FuzzDecodeBatch checks that the pooled PutRecordBatch decode gives what
// plain encoding/json gives: the same name and records, or the same error.
func FuzzDecodeBatch(f *testing.F) {
	for _, seed := range []string{
		`{"DeliveryStreamName":"s","Records":[{"Data":"aGVsbG8="},{"Data":"d29ybGQ="}]}`,
		`{"DeliveryStreamName":"s","Records":[{"Data":""},{"Data":null},{}]}`,
		`{"DeliveryStreamName":"s","Records":[{"Data":"aGVs\/bG8="},{"Data":"\u0061GVsbG8="}]}`,
		`{"DeliveryStreamName":"s","Records":[{"Data":"aGVs\nbG8="},{"Data":"aGVs\r\nbG8="}]}`,
		`{"DeliveryStreamName":"s","Records":[{"Data":"!!!"}]}`,
		`{"DeliveryStreamName":"s","Records":[{"Data":5}]}`,
		`{"DeliveryStreamName":"s","Records":[{"Data":{"a":1}}]}`,
		`{"DeliveryStreamName":"s","Records":[{"Data":["aGk="]}]}`,
		`{"DeliveryStreamName":"s","Records":[{"data":"aGk=","Data":"aGo="}]}`,
		`{"DeliveryStreamName":5,"Records":[{"Data":"!!"}]}`,
		`{"Records":[{"Data":"!!"}],"DeliveryStreamName":5}`,
		`{"DeliveryStreamName":"s","Records":null}`,
		`{"DeliveryStreamName":"s","Records":{}}`,
		`{"DeliveryStreamName":"s","Records":[]} x`,
		`{"DeliveryStreamName":"s","Records":[{"Data":"aGk="}]`,
		"{\"DeliveryStreamName\":\"s\",\"Records\":[{\"Data\":\"aG\xffk=\"}]}",
		`  `,
		``,
		`null`,
		`[]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var want putRecordBatchInput
		wantErr := decodeFirehose(bytes.Clone(body), &want)

		sc := getBatchScratch()
		defer putBatchScratch(sc)
		name, records, err := decodeBatch(bytes.Clone(body), sc)

		if (err == nil) != (wantErr == nil) {
			t.Fatalf("error = %v, encoding/json error = %v", err, wantErr)
		}
		if err != nil {
			if err.Error() != wantErr.Error() {
				t.Fatalf("error = %q, encoding/json error = %q", err, wantErr)
			}
			return
		}
		if name != want.DeliveryStreamName {
			t.Fatalf("name = %q, want %q", name, want.DeliveryStreamName)
		}
		if len(records) != len(want.Records) {
			t.Fatalf("%d records, want %d", len(records), len(want.Records))
		}
		for i, rec := range records {
			w := want.Records[i].Data
			if (rec == nil) != (w == nil) || !bytes.Equal(rec, w) {
				t.Fatalf("record %d = %q (nil %v), want %q (nil %v)", i, rec, rec == nil, w, w == nil)
			}
		}
	})
}
