#!/usr/bin/env python3
"""Baseline for `make bench`: a plain sequential boto3 PutRecordBatch loop.

Reads an NDJSON file (one record per line, newline kept, as firehose put
sends it), then sends it in batches of --batch-size records, one call after
another, with a default boto3 client: what a straightforward Python sender
does. Only the send loop is timed (not interpreter start-up nor reading the
file), which favours boto3 in the comparison. Failed entries are counted,
not resent. Prints one JSON line:
{"records": N, "failed": F, "seconds": S, "records_per_second": R}
"""

import argparse
import json
import sys
import time

import boto3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", help="NDJSON input")
    parser.add_argument("--stream", required=True, help="delivery stream name")
    parser.add_argument("--endpoint-url", required=True, help="Firehose endpoint, e.g. the emulator")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--batch-size", type=int, default=500, help="records per call (default 500)")
    args = parser.parse_args()

    with open(args.file, "rb") as f:
        lines = [line for line in f if line.strip()]

    client = boto3.client("firehose", endpoint_url=args.endpoint_url, region_name=args.region)
    failed = 0
    start = time.perf_counter()
    for i in range(0, len(lines), args.batch_size):
        batch = [{"Data": line} for line in lines[i : i + args.batch_size]]
        resp = client.put_record_batch(DeliveryStreamName=args.stream, Records=batch)
        failed += resp.get("FailedPutCount", 0)
    seconds = time.perf_counter() - start

    delivered = len(lines) - failed
    print(json.dumps({
        "records": len(lines),
        "failed": failed,
        "seconds": round(seconds, 3),
        "records_per_second": round(delivered / seconds, 1) if seconds > 0 else 0,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
