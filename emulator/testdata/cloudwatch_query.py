"""Reads Firehose metrics from the emulator with botocore speaking awsQuery.

botocore's CloudWatch model lists the query protocol among its protocols;
this script writes a copy of the model with query as the only one to a
directory on AWS_DATA_PATH, so botocore's own query serializer and XML
parser make every call. It prints one JSON object with what it read.

usage: cloudwatch_query.py ENDPOINT_URL STREAM_NAME MODEL_DIR
"""
import datetime
import json
import os
import sys

endpoint, stream, model_dir = sys.argv[1], sys.argv[2], sys.argv[3]

import botocore.session  # noqa: E402

loader = botocore.session.get_session().get_component("data_loader")
model = loader.load_service_model("cloudwatch", "service-2")
model["metadata"]["protocol"] = "query"
model["metadata"]["protocols"] = ["query"]
target = os.path.join(model_dir, "cloudwatch", model["metadata"]["apiVersion"])
os.makedirs(target, exist_ok=True)
with open(os.path.join(target, "service-2.json"), "w") as f:
    json.dump(model, f)
os.environ["AWS_DATA_PATH"] = model_dir

session = botocore.session.get_session()
client = session.create_client(
    "cloudwatch", region_name="us-east-1", endpoint_url=endpoint,
    aws_access_key_id="test", aws_secret_access_key="test")

sent = []


def record(request, **kwargs):
    body = request.body or b""
    if isinstance(body, bytes):
        body = body.decode()
    ctype = request.headers.get("Content-Type", "")
    if isinstance(ctype, bytes):
        ctype = ctype.decode()
    sent.append({"content_type": ctype, "action": body.split("&")[0]})


client.meta.events.register("before-send.cloudwatch", record)

now = datetime.datetime.now(datetime.timezone.utc)
start, end = now - datetime.timedelta(minutes=10), now + datetime.timedelta(minutes=1)
dims = [{"Name": "DeliveryStreamName", "Value": stream}]

stats = client.get_metric_statistics(
    Namespace="AWS/Firehose", MetricName="IncomingRecords", Dimensions=dims,
    StartTime=start, EndTime=end, Period=60, Statistics=["Sum", "SampleCount"])
data = client.get_metric_data(
    StartTime=start, EndTime=end,
    MetricDataQueries=[{"Id": "records", "MetricStat": {
        "Metric": {"Namespace": "AWS/Firehose", "MetricName": "IncomingRecords", "Dimensions": dims},
        "Period": 60, "Stat": "Sum"}}])
listed = client.list_metrics(Namespace="AWS/Firehose", MetricName="IncomingRecords")
client.put_metric_data(Namespace="Custom/Query", MetricData=[
    {"MetricName": "Latency", "Dimensions": [{"Name": "Host", "Value": "a b&c"}], "Value": 1.5, "Unit": "Milliseconds"},
    {"MetricName": "Latency", "Dimensions": [{"Name": "Host", "Value": "a b&c"}], "Values": [2, 3], "Counts": [1, 4]},
])
custom = client.get_metric_statistics(
    Namespace="Custom/Query", MetricName="Latency", Dimensions=[{"Name": "Host", "Value": "a b&c"}],
    StartTime=start, EndTime=end, Period=600, Statistics=["Sum", "SampleCount", "Maximum"])
try:
    client.put_metric_data(Namespace="AWS/Firehose", MetricData=[{"MetricName": "X", "Value": 1}])
    error = None
except client.exceptions.ClientError as e:
    error = {"code": e.response["Error"]["Code"], "type": e.response["Error"].get("Type"),
             "status": e.response["ResponseMetadata"]["HTTPStatusCode"]}

print(json.dumps({
    "protocol": client.meta.service_model.protocol,
    "sent": sent,
    "statistics_sum": sum(d["Sum"] for d in stats["Datapoints"]),
    "statistics_label": stats["Label"],
    "data_sum": sum(sum(r["Values"]) for r in data["MetricDataResults"]),
    "data_status": [r["StatusCode"] for r in data["MetricDataResults"]],
    "listed": [[d["Value"] for d in m["Dimensions"]] for m in listed["Metrics"]],
    "custom_sum": sum(d["Sum"] for d in custom["Datapoints"]),
    "custom_count": sum(d["SampleCount"] for d in custom["Datapoints"]),
    "custom_max": max(d["Maximum"] for d in custom["Datapoints"]),
    "error": error,
}))
