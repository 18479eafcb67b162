#!/usr/bin/python3
"""An external gRPC client for `vamba serve`, in Python with Debian's grpcio (python3-grpcio).

It does what grpcurl would: checks grpc.health.v1 health, lists the services by server reflection,
fetches vamba.v1's descriptors by reflection and builds its request messages from them (no
generated code, no copy of vamba.proto), then streams one Ask. Debian ships neither grpcio-health
nor grpcio-reflection, so the standard health and reflection messages are declared here from their
field numbers (grpc/health/v1/health.proto, grpc/reflection/v1alpha/reflection.proto).

Prints one JSON object on stdout; exits non-zero only when it could not run at all.
"""
import argparse
import json
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

FD = descriptor_pb2.FieldDescriptorProto


def message_class(pool, name):
    desc = pool.FindMessageTypeByName(name)
    get = getattr(message_factory, "GetMessageClass", None)  # protobuf >= 4.22
    return get(desc) if get else message_factory.MessageFactory(pool).GetPrototype(desc)


def add_field(msg, name, number, ftype, type_name=None, repeated=False, oneof=None):
    f = msg.field.add(name=name, number=number, type=ftype,
                      label=FD.LABEL_REPEATED if repeated else FD.LABEL_OPTIONAL)
    if type_name:
        f.type_name = type_name
    if oneof is not None:
        f.oneof_index = oneof


def health_pool():
    f = descriptor_pb2.FileDescriptorProto(name="grpc/health/v1/health.proto",
                                           package="grpc.health.v1", syntax="proto3")
    req = f.message_type.add(name="HealthCheckRequest")
    add_field(req, "service", 1, FD.TYPE_STRING)
    resp = f.message_type.add(name="HealthCheckResponse")
    status = resp.enum_type.add(name="ServingStatus")
    for i, n in enumerate(["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"]):
        status.value.add(name=n, number=i)
    add_field(resp, "status", 1, FD.TYPE_ENUM, ".grpc.health.v1.HealthCheckResponse.ServingStatus")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    return pool


def reflection_pool():
    p = ".grpc.reflection.v1alpha."
    f = descriptor_pb2.FileDescriptorProto(name="grpc/reflection/v1alpha/reflection.proto",
                                           package="grpc.reflection.v1alpha", syntax="proto3")
    req = f.message_type.add(name="ServerReflectionRequest")
    add_field(req, "host", 1, FD.TYPE_STRING)
    # A oneof, as in reflection.proto: list_services = "" must still be sent (proto3 leaves out
    # a plain field holding its default).
    req.oneof_decl.add(name="message_request")
    add_field(req, "file_by_filename", 3, FD.TYPE_STRING, oneof=0)
    add_field(req, "file_containing_symbol", 4, FD.TYPE_STRING, oneof=0)
    add_field(req, "list_services", 7, FD.TYPE_STRING, oneof=0)
    fdr = f.message_type.add(name="FileDescriptorResponse")
    add_field(fdr, "file_descriptor_proto", 1, FD.TYPE_BYTES, repeated=True)
    svc = f.message_type.add(name="ServiceResponse")
    add_field(svc, "name", 1, FD.TYPE_STRING)
    lsr = f.message_type.add(name="ListServiceResponse")
    add_field(lsr, "service", 1, FD.TYPE_MESSAGE, p + "ServiceResponse", repeated=True)
    err = f.message_type.add(name="ErrorResponse")
    add_field(err, "error_code", 1, FD.TYPE_INT32)
    add_field(err, "error_message", 2, FD.TYPE_STRING)
    resp = f.message_type.add(name="ServerReflectionResponse")
    add_field(resp, "valid_host", 1, FD.TYPE_STRING)
    add_field(resp, "file_descriptor_response", 4, FD.TYPE_MESSAGE, p + "FileDescriptorResponse")
    add_field(resp, "list_services_response", 6, FD.TYPE_MESSAGE, p + "ListServiceResponse")
    add_field(resp, "error_response", 7, FD.TYPE_MESSAGE, p + "ErrorResponse")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    return pool


def check_health(channel, services):
    pool = health_pool()
    req_cls = message_class(pool, "grpc.health.v1.HealthCheckRequest")
    resp_cls = message_class(pool, "grpc.health.v1.HealthCheckResponse")
    check = channel.unary_unary("/grpc.health.v1.Health/Check",
                                request_serializer=req_cls.SerializeToString,
                                response_deserializer=resp_cls.FromString)
    status_enum = resp_cls.DESCRIPTOR.enum_types_by_name["ServingStatus"]
    out = {}
    for name in services:
        try:
            resp = check(req_cls(service=name), timeout=10)
            out[name] = status_enum.values_by_number[resp.status].name
        except grpc.RpcError as e:
            out[name] = e.code().name
    return out


def reflect(channel, symbol):
    """Lists the services, then fetches the file that defines `symbol`."""
    pool = reflection_pool()
    req_cls = message_class(pool, "grpc.reflection.v1alpha.ServerReflectionRequest")
    resp_cls = message_class(pool, "grpc.reflection.v1alpha.ServerReflectionResponse")
    call = channel.stream_stream("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                 request_serializer=req_cls.SerializeToString,
                                 response_deserializer=resp_cls.FromString)
    requests = [req_cls(list_services=""), req_cls(file_containing_symbol=symbol)]
    services, files = [], []
    for resp in call(iter(requests), timeout=10):
        if resp.HasField("list_services_response"):
            services += [s.name for s in resp.list_services_response.service]
        elif resp.HasField("file_descriptor_response"):
            for raw in resp.file_descriptor_response.file_descriptor_proto:
                files.append(descriptor_pb2.FileDescriptorProto.FromString(raw))
        elif resp.HasField("error_response"):
            raise RuntimeError("reflection error %d: %s" % (resp.error_response.error_code,
                                                            resp.error_response.error_message))
    return services, files


def ask(channel, files, args, token):
    """Streams one Ask with messages built from the reflected descriptors."""
    pool = descriptor_pool.DescriptorPool()
    for f in files:
        pool.Add(f)
    service = pool.FindServiceByName("vamba.v1.VideoQa")
    method = service.methods_by_name["Ask"]
    req_cls = message_class(pool, method.input_type.full_name)
    resp_cls = message_class(pool, method.output_type.full_name)
    req = req_cls()
    req.video.uri = args.video
    req.sampling.frames = args.frames
    req.sampling.shortest_edge = args.shortest_edge
    req.sampling.longest_edge = args.longest_edge
    req.question = args.question
    req.generation.max_tokens = args.max_tokens
    call = channel.unary_stream("/vamba.v1.VideoQa/Ask",
                                request_serializer=req_cls.SerializeToString,
                                response_deserializer=resp_cls.FromString)
    metadata = [("authorization", "Bearer " + token)] if token else []
    deltas, done = [], None
    try:
        for msg in call(req, metadata=metadata, timeout=120):
            if msg.HasField("done"):
                done = msg.done
            else:
                deltas.append(msg.delta)
    except grpc.RpcError as e:
        return {"code": e.code().name, "message": e.details()}
    return {"code": "OK", "deltas": deltas, "text": done.text if done else None,
            "tokens": list(done.tokens) if done else [],
            "finish_reason": done.finish_reason if done else None}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--server", required=True)
    ap.add_argument("--token", default="")
    ap.add_argument("--video", required=True)
    ap.add_argument("--question", required=True)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--shortest-edge", type=int, default=112)
    ap.add_argument("--longest-edge", type=int, default=224)
    ap.add_argument("--max-tokens", type=int, default=12)
    args = ap.parse_args()

    with grpc.insecure_channel(args.server) as channel:
        result = {"grpcio": grpc.__version__}
        result["health"] = check_health(channel, ["", "vamba.v1.VideoQa", "no.such.Service"])
        services, files = reflect(channel, "vamba.v1.VideoQa")
        result["services"] = sorted(services)
        result["files"] = [f.name for f in files]
        methods = []
        for f in files:
            for s in f.service:
                if f.package + "." + s.name == "vamba.v1.VideoQa":
                    methods += [m.name for m in s.method]
        result["methods"] = sorted(methods)
        result["ask"] = ask(channel, files, args, args.token)
        result["ask_without_token"] = ask(channel, files, args, "")
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
